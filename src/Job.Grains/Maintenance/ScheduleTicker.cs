using Job.Common;
using Job.Hosting;
using Job.Scheduling;
using Job.Storage;
using Job.Telemetry;
using Microsoft.Extensions.Logging;

namespace Job.Maintenance;

/// <summary>
/// The cluster's recurring-schedule ticker, run by its leader beside <see cref="JobScheduler"/>. It
/// sleeps on the application clock until the earliest next tick of any running schedule (or until a
/// schedule changes: the <c>job_schedules</c> notification, the leader's reminder as a backstop), then
/// fires each due schedule in one transaction (<c>job_schedule_fire</c>): the ticks the
/// <see cref="TickPlanner"/> picked become jobs due at their tick, each under a unique key per schedule
/// and tick, and the schedule moves to its next tick. A second leader (membership can briefly allow
/// one) finds the schedule changed and plans again, or a tick's key taken: never a second job.
/// </summary>
internal sealed partial class ScheduleTicker(JobRuntime runtime, ILogger logger) : IAsyncDisposable
{
    // Schedules per look and ticks per schedule per transaction; a full look goes on at once.
    private const int DueBatch = 100;
    private const int TickBatch = JobMisfirePolicy.MaxCatchUp;

    // A schedule that fails to fire (its time zone unknown on this silo, say) is left alone this long.
    private static readonly TimeSpan s_brokenBackoff = TimeSpan.FromMinutes(1);

    private readonly CancellationTokenSource _stop = new();
    private readonly WakeSignal _changed = new();
    private readonly ScheduleTickStore _store = new(runtime.Database);
    private readonly Dictionary<string, DateTime> _broken = new(StringComparer.Ordinal);
    private Task _loop = Task.CompletedTask;

    // Ticks earlier than this less a schedule's misfire threshold were missed: when this leader
    // started, or got the database back after losing it.
    private DateTimeOffset _resumedAt;

    public void Start()
    {
        _resumedAt = runtime.Clock.Now;

        // Not under whatever activity activated the leader: each fire's own span is its jobs' parent.
        using (ExecutionContext.SuppressFlow())
        {
            _loop = Task.Run(() => RunAsync(_stop.Token), CancellationToken.None);
        }
    }

    /// <summary>A schedule changed, or a notification may have been lost: look again.</summary>
    public void Changed() => _changed.Set();

    private async Task RunAsync(CancellationToken ct)
    {
        var failures = new FailureStreak();
        while (!ct.IsCancellationRequested)
        {
            _changed.Reset();
            try
            {
                var skip = Backoffs();
                var now = runtime.Clock.Now;
                var due = await _store.DueAsync(now, DueBatch, skip, ct).ConfigureAwait(false);
                if (failures.Reset())
                {
                    _resumedAt = now; // the database was unreachable: what fell due meanwhile is missed
                }

                var more = due.Count == DueBatch;
                foreach (var schedule in due)
                {
                    try
                    {
                        more |= await FireAsync(schedule, ct).ConfigureAwait(false);
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException && !TransientRetry.IsTransient(ex))
                    {
                        // This schedule's fault (not the database's): the others go on.
                        _broken[schedule.Name] = DateTime.UtcNow + s_brokenBackoff;
                        LogScheduleBroken(schedule.Name, s_brokenBackoff, ex);
                    }
                }

                if (more || due.Count > 0)
                {
                    continue; // look again: the fired schedules have moved on, others may be due
                }

                var next = await _store.NextAsync(skip, ct).ConfigureAwait(false);
                // Until the earliest next tick on the application clock, a change, or (real time) the end
                // of a broken schedule's backoff.
                TimeSpan? retryBroken = null;
                if (_broken.Count > 0)
                {
                    var left = _broken.Values.Min() - DateTime.UtcNow;
                    retryBroken = left > TimeSpan.Zero ? left : TimeSpan.FromMilliseconds(10);
                }

                await runtime.Clock.WaitAnyAsync(next, retryBroken, ct, _changed.WaitTask).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                if (failures.Fail())
                {
                    LogTickerFailed(failures.Count, ex);
                }

                if (!await failures.BackOffAsync(ct).ConfigureAwait(false))
                {
                    return;
                }
            }
        }
    }

    // Returns true when the schedule has more ticks due than one plan fires.
    private async Task<bool> FireAsync(DueSchedule schedule, CancellationToken ct)
    {
        var now = runtime.Clock.Now;
        TickPlanner.Plan plan;
        try
        {
            var cron = CronSchedule.Parse(schedule.Name, schedule.Cron, schedule.TimeZone);
            plan = TickPlanner.For(cron, schedule.NextTick, now, _resumedAt - schedule.MisfireThreshold, schedule.Misfire, TickBatch);
        }
        catch (InvalidJobScheduleException ex)
        {
            _broken[schedule.Name] = DateTime.UtcNow + s_brokenBackoff;
            LogScheduleBroken(schedule.Name, s_brokenBackoff, ex);
            return false;
        }

        IReadOnlyList<FiredTick> fired;
        using (var activity = JobTelemetry.StartScheduleFire(schedule.Name, schedule.JobType, plan.Ticks.Count))
        {
            fired = await _store.FireAsync(schedule, plan.Ticks, plan.Next, JobTelemetry.CurrentTraceParent(), now, ct).ConfigureAwait(false);
        }

        if (fired.Count == 1 && fired[0].Outcome == "stale")
        {
            return true; // changed since it was read (an edit, another leader): plan it again
        }

        _broken.Remove(schedule.Name);
        if (plan.MissedFrom is { } missedFrom)
        {
            var missed = CountBetween(schedule, missedFrom, plan.MissedUntil!.Value);
            JobTelemetry.ScheduleTicks.Add(Math.Max(0, missed - plan.MissedRun), new(JobTelemetry.TagSchedule, schedule.Name), new(JobTelemetry.TagOutcome, "missed"));
            LogMissed(schedule.Name, missed, missedFrom, plan.MissedUntil!.Value, schedule.Misfire.ToString(), plan.MissedRun);
        }

        foreach (var tick in fired)
        {
            if (tick.Outcome is "spawned" or "skipped")
            {
                JobTelemetry.ScheduleTicks.Add(1, new(JobTelemetry.TagSchedule, schedule.Name), new(JobTelemetry.TagOutcome, tick.Outcome));
            }

            if (tick.Outcome == "spawned")
            {
                // A tick's job is created by the database function, not a spawner: counted here, so
                // job.spawned counts every job, scheduled ones included.
                JobTelemetry.Spawned.Add(1, new KeyValuePair<string, object?>(JobTelemetry.TagJobType, schedule.JobType));
                LogSpawned(schedule.Name, tick.Tick!.Value, tick.JobId!.Value);
            }
            else if (tick.Outcome == "skipped")
            {
                LogSkipped(schedule.Name, tick.Tick!.Value);
            }
        }

        return plan.Next is { } next && next <= now;
    }

    // How many ticks were missed (for the metric), counted up to a bound: an every-second schedule
    // down for a month is "many", not a count worth a million iterations.
    private static int CountBetween(DueSchedule schedule, DateTimeOffset from, DateTimeOffset until) =>
        CronSchedule.Parse(schedule.Name, schedule.Cron, schedule.TimeZone).Between(from, until).Take(100_000).Count();

    private string[] Backoffs()
    {
        var now = DateTime.UtcNow;
        foreach (var (name, until) in _broken.ToList())
        {
            if (until <= now)
            {
                _broken.Remove(name);
            }
        }

        return [.. _broken.Keys];
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        _stop.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Schedule {Schedule}: tick {Tick:O} spawned job {JobId}.")]
    private partial void LogSpawned(string schedule, DateTimeOffset tick, JobId jobId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Schedule {Schedule}: tick {Tick:O} skipped, the previous tick's job has not ended (overlap policy Skip).")]
    private partial void LogSkipped(string schedule, DateTimeOffset tick);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Schedule {Schedule} missed {Missed} tick(s), from {From:O} to {Until:O}, while no silo could fire them; its misfire policy {Policy} picks {Picked} of them to fire now (under the overlap policy Skip, a pick due while an earlier one's job has not ended is skipped).")]
    private partial void LogMissed(string schedule, int missed, DateTimeOffset from, DateTimeOffset until, string policy, int picked);

    [LoggerMessage(Level = LogLevel.Error, Message = "Schedule {Schedule} cannot fire on this silo; it is tried again in {Backoff}.")]
    private partial void LogScheduleBroken(string schedule, TimeSpan backoff, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The schedule ticker failed ({Failures} in a row); retrying. Ticks wait until it recovers.")]
    private partial void LogTickerFailed(int failures, Exception exception);
}
