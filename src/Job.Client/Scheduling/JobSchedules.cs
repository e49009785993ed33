using Job.Client;
using Job.Scheduling;
using Job.Storage;

namespace Job;

/// <summary>
/// Recurring schedules, changed at run time: create or replace, pause, resume, remove, and put back
/// to the declaration in code. The schedules live in the database; the cluster's leader fires their
/// ticks, one job per tick across the cluster (a unique key per schedule and tick), and hears every
/// change at once (a notification). Each call is one transaction; a bad definition is refused before
/// anything is written. Get it from <see cref="JobClient.Schedules"/>, from DI (<c>AddJobClient</c> and
/// <c>AddJobs</c> register it), or from <c>Jobs.Schedules</c>.
/// </summary>
/// <remarks>
/// <para><b>Code and run time.</b> A schedule declared in code (<c>services.AddRecurringJob</c>,
/// <c>jobs.AddRecurring</c>) is written when a silo starts. The latest change wins: a run-time change
/// (here) holds across restarts until it is changed again, reset (<see cref="ResetAsync"/>), or a
/// deploy changes that schedule's declaration; a silo that starts with the same declaration as the
/// last one applied changes nothing. A pause is never undone by a deploy.</para>
/// <para><b>Ticks.</b> Each tick's job is due at its tick and is an ordinary job: retries, history
/// (a <c>schedule_tick</c> event names the schedule and the tick), tracing, flow control.</para>
/// </remarks>
public sealed class JobSchedules
{
    /// <summary>The most ticks <see cref="TicksAsync"/> returns.</summary>
    public const int MaxTicksListed = 10_000;

    private readonly JobContext _context;
    private readonly ScheduleStore _store;

    internal JobSchedules(JobContext context)
    {
        _context = context;
        _store = new ScheduleStore(context.Database);
    }

    /// <summary>
    /// Creates the schedule, or replaces the definition of the one with its name (a removed one comes
    /// back). Its next tick is the first after now for a new schedule or a changed expression or time
    /// zone; a changed config or policy keeps the next tick, so no tick is skipped or repeated. A
    /// paused schedule stays paused.
    /// </summary>
    /// <param name="spec">The definition.</param>
    /// <param name="changedBy">Who asks (an operator's name, a tool's), kept with the schedule.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <exception cref="InvalidCronExpressionException">Cronos cannot read the expression, or it never fires.</exception>
    /// <exception cref="UnknownTimeZoneException">The time zone is unknown on this machine.</exception>
    /// <exception cref="InvalidJobScheduleException">Another field is invalid (the name, the misfire threshold).</exception>
    /// <exception cref="InvalidJobConfigException">The config serializes larger than the limit.</exception>
    public Task<JobSchedule> SetAsync<TConfig>(JobScheduleSpec<TConfig> spec, string? changedBy = null, CancellationToken cancellationToken = default)
    {
        var definition = ScheduleDefinition.From(spec, _context.Json, _context.MaxConfigBytes);
        CheckChangedBy(changedBy);
        return _store.SetAsync(definition, definition.Schedule.NextAfter(_context.Clock.Now), changedBy, cancellationToken);
    }

    /// <summary>Stops the schedule's ticks: none spawns a job until <see cref="ResumeAsync"/>. Jobs of
    /// earlier ticks run on. Survives restarts and deploys.</summary>
    /// <exception cref="JobScheduleNotFoundException">No schedule has this name.</exception>
    public async Task<JobSchedule> PauseAsync(string name, string? changedBy = null, CancellationToken cancellationToken = default)
    {
        ScheduleDefinition.CheckName(name);
        CheckChangedBy(changedBy);
        return await _store.PauseAsync(name, changedBy, cancellationToken).ConfigureAwait(false) ?? throw new JobScheduleNotFoundException(name);
    }

    /// <summary>Lets the schedule tick again, from its first tick after now: the ticks that passed while
    /// it was paused are not run.</summary>
    /// <exception cref="JobScheduleNotFoundException">No schedule has this name.</exception>
    public async Task<JobSchedule> ResumeAsync(string name, string? changedBy = null, CancellationToken cancellationToken = default)
    {
        ScheduleDefinition.CheckName(name);
        CheckChangedBy(changedBy);
        while (true)
        {
            var stored = await _store.FindAsync(name, includeRemoved: false, cancellationToken).ConfigureAwait(false)
                ?? throw new JobScheduleNotFoundException(name);
            var now = _context.Clock.Now;
            var next = CronSchedule.Parse(name, stored.Schedule.Cron, stored.Schedule.TimeZone).NextAfter(now);
            if (await _store.ResumeAsync(name, stored.Version, now, next, changedBy, cancellationToken).ConfigureAwait(false) is { } resumed)
            {
                return resumed;
            }

            // It changed between the read and the write (the leader fired a tick): read it again.
        }
    }

    /// <summary>
    /// Removes the schedule: no tick of it fires any more; jobs of earlier ticks run on. A schedule
    /// declared in code stays removed across restarts until its declaration changes.
    /// </summary>
    /// <returns>True when it was removed; false when no schedule had this name.</returns>
    public Task<bool> RemoveAsync(string name, string? changedBy = null, CancellationToken cancellationToken = default)
    {
        ScheduleDefinition.CheckName(name);
        CheckChangedBy(changedBy);
        return _store.RemoveAsync(name, changedBy, cancellationToken);
    }

    /// <summary>Undoes run-time changes: the schedule's definition becomes its declaration in code again
    /// (a removed one comes back; a pause stays).</summary>
    /// <exception cref="JobScheduleNotFoundException">No schedule has this name.</exception>
    /// <exception cref="InvalidOperationException">The schedule was created at run time: it has no
    /// declaration to go back to.</exception>
    public async Task<JobSchedule> ResetAsync(string name, string? changedBy = null, CancellationToken cancellationToken = default)
    {
        ScheduleDefinition.CheckName(name);
        CheckChangedBy(changedBy);
        while (true)
        {
            var stored = await _store.FindAsync(name, includeRemoved: true, cancellationToken).ConfigureAwait(false)
                ?? throw new JobScheduleNotFoundException(name);
            if (stored.DeclaredJson is null)
            {
                throw new InvalidOperationException($"Schedule '{name}' was created at run time, not declared in code: there is no declaration to reset it to.");
            }

            var declared = ScheduleDefinition.FromJson(stored.DeclaredJson);
            var next = declared.Schedule.NextAfter(_context.Clock.Now);
            if (await _store.ResetAsync(declared, stored.Version, next, changedBy ?? "reset", cancellationToken).ConfigureAwait(false) is { } reset)
            {
                return reset;
            }
        }
    }

    /// <summary>The schedule, or null when none has this name.</summary>
    public async Task<JobSchedule?> GetAsync(string name, CancellationToken cancellationToken = default)
    {
        ScheduleDefinition.CheckName(name);
        return (await _store.FindAsync(name, includeRemoved: false, cancellationToken).ConfigureAwait(false))?.Schedule;
    }

    /// <summary>Every schedule, by name.</summary>
    public Task<IReadOnlyList<JobSchedule>> ListAsync(CancellationToken cancellationToken = default) => _store.ListAsync(cancellationToken);

    /// <summary>The schedule's latest handled ticks, newest first: which job each spawned, or that it was
    /// skipped because the previous tick's job had not ended. Ticks missed while no silo could fire them
    /// and not made up for by the misfire policy have no entry. Kept as long as the job history
    /// (<c>JobsOptions.HistoryRetention</c>).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="limit"/> is not 1 to <see cref="MaxTicksListed"/>.</exception>
    public Task<IReadOnlyList<JobScheduleTick>> TicksAsync(string name, int limit = 100, CancellationToken cancellationToken = default)
    {
        ScheduleDefinition.CheckName(name);
        if (limit is < 1 or > MaxTicksListed)
        {
            throw new ArgumentOutOfRangeException(nameof(limit), limit, $"List 1 to {MaxTicksListed} ticks.");
        }

        return _store.TicksAsync(name, limit, cancellationToken);
    }

    /// <summary>The next <paramref name="count"/> ticks of an expression in a time zone after
    /// <paramref name="after"/>, without storing anything: to check an expression before using it.</summary>
    /// <exception cref="InvalidCronExpressionException">Cronos cannot read the expression, or it never fires.</exception>
    /// <exception cref="UnknownTimeZoneException">The time zone is unknown on this machine.</exception>
    public static IReadOnlyList<DateTimeOffset> NextTicks(string cron, DateTimeOffset after, int count, string timeZone = "UTC")
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, MaxTicksListed);
        var schedule = CronSchedule.Parse("preview", cron, timeZone);
        var ticks = new List<DateTimeOffset>(count);
        for (var at = schedule.NextAfter(after); at is { } tick && ticks.Count < count; at = schedule.NextAfter(tick))
        {
            ticks.Add(tick);
        }

        return ticks;
    }

    private static void CheckChangedBy(string? changedBy)
    {
        if (changedBy is { Length: > 256 })
        {
            throw new ArgumentException("Who changed the schedule is at most 256 characters.", nameof(changedBy));
        }
    }
}
