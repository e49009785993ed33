using Job.Execution;
using Job.Storage;
using Microsoft.Extensions.Logging;

namespace Job.Hosting;

/// <summary>
/// What a silo declares in code about the cluster: recurring schedules, retired schedules, and each
/// registered job type's limits. Applied once, when the silo starts polling (the facade: in
/// <c>StartPollAsync</c>), before it claims anything. The rule, for schedules and limits alike: the
/// latest change wins. A declaration the same as the last one applied changes nothing, so a run-time
/// change (<see cref="JobSchedules"/>, <see cref="JobFlowControl"/>) survives restarts; a declaration that
/// differs is a change made by this deploy and applies. Nothing is deleted because a silo does not
/// declare it (a rolling deploy or a second application on the same database would fight): retire a
/// schedule explicitly; the silo warns about schedules it no longer declares.
/// </summary>
internal sealed partial class JobDeclarations(
    JobRuntime runtime,
    IEnumerable<ScheduleDeclaration> schedules,
    IEnumerable<ScheduleRetirement> retirements,
    ILogger<JobDeclarations> logger)
{
    private readonly Lock _gate = new();
    private readonly List<ScheduleDeclaration> _schedules = [.. schedules];
    private readonly HashSet<string> _retired = new(retirements.Select(r => r.Name), StringComparer.Ordinal);
    private readonly Dictionary<string, JobTypeLimits?> _limits = new(StringComparer.Ordinal);
    private Task? _applied;

    /// <summary>The names of the schedules declared in code on this silo.</summary>
    public IReadOnlyList<string> ScheduleNames
    {
        get
        {
            lock (_gate)
            {
                return [.. _schedules.Select(s => s.Name)];
            }
        }
    }

    /// <exception cref="InvalidOperationException">Declarations were already applied.</exception>
    public void AddSchedule(ScheduleDeclaration declaration)
    {
        lock (_gate)
        {
            EnsureOpen($"declare schedule '{declaration.Name}'");
            _schedules.Add(declaration);
        }
    }

    /// <exception cref="InvalidOperationException">Declarations were already applied.</exception>
    public void Retire(string name)
    {
        Scheduling.ScheduleDefinition.CheckName(name);
        lock (_gate)
        {
            EnsureOpen($"retire schedule '{name}'");
            _retired.Add(name);
        }
    }

    /// <summary>The limits the type's registration declares (null: none).</summary>
    /// <exception cref="ArgumentOutOfRangeException">A limit is out of range.</exception>
    public void DeclareLimits(JobType type, JobTypeLimits? limits)
    {
        limits?.Validate(type);
        lock (_gate)
        {
            _limits[type.Name] = limits?.Copy();
        }
    }

    /// <summary>Writes the declarations (once; later calls wait for the first).</summary>
    /// <exception cref="InvalidOperationException">A schedule names a job type this silo does not register,
    /// two declarations share a name, or a schedule is both declared and retired.</exception>
    public Task ApplyAsync(JobRegistry registry, CancellationToken ct)
    {
        lock (_gate)
        {
            _applied ??= ApplyCoreAsync(registry);
            return _applied.WaitAsync(ct);
        }
    }

    private void EnsureOpen(string what)
    {
        if (_applied is not null)
        {
            throw new InvalidOperationException($"Cannot {what}: this silo has started polling and applied its declarations. Declare schedules before StartPollAsync.");
        }
    }

    private async Task ApplyCoreAsync(JobRegistry registry)
    {
        var ct = CancellationToken.None;
        var types = registry.TypeNames;
        Dictionary<string, JobTypeLimits?> limits;
        List<ScheduleDeclaration> declared;
        string[] retired;
        lock (_gate)
        {
            limits = new(_limits, StringComparer.Ordinal);
            declared = [.. _schedules];
            retired = [.. _retired.Order(StringComparer.Ordinal)];
        }

        Check(registry, declared, retired);

        // Limits: only types whose declaration differs from the one last applied are written, so a
        // silo with ten thousand types and no limits costs one read.
        var flow = new FlowControlStore(runtime.Database);
        var applied = await flow.DeclaredHashesAsync(types, ct).ConfigureAwait(false);
        foreach (var type in types)
        {
            var mine = limits.GetValueOrDefault(type);
            var want = mine is { IsEmpty: false } ? mine.Hash() : null;
            if (want != applied.GetValueOrDefault(type))
            {
                var outcome = await flow.DeclareAsync(new JobType(type), mine, ct).ConfigureAwait(false);
                if (outcome != "unchanged")
                {
                    LogLimitsApplied(type, outcome, mine?.ToString() ?? "none");
                }
            }
        }

        var store = new ScheduleStore(runtime.Database);
        foreach (var declaration in declared)
        {
            var definition = declaration.Build(runtime.Json, runtime.Options.MaxConfigBytes);
            var outcome = await store.DeclareAsync(definition, definition.Schedule.NextAfter(runtime.Clock.Now), ct).ConfigureAwait(false);
            if (outcome == "unchanged")
            {
                LogScheduleUnchanged(definition.Name);
            }
            else
            {
                LogScheduleApplied(definition.Name, outcome, definition.Cron, definition.TimeZone, definition.JobType.Name);
            }
        }

        foreach (var name in retired)
        {
            if (await store.RemoveAsync(name, "code (retired)", ct).ConfigureAwait(false))
            {
                LogScheduleRetired(name);
            }
        }

        var names = declared.Select(d => d.Name).Concat(retired).ToList();
        foreach (var (name, type) in await store.UndeclaredAsync(types, names, ct).ConfigureAwait(false))
        {
            LogScheduleNotDeclared(name, type);
        }
    }

    private static void Check(JobRegistry registry, List<ScheduleDeclaration> declared, string[] retired)
    {
        if (declared.GroupBy(d => d.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1) is { } twice)
        {
            throw new InvalidOperationException($"Schedule '{twice.Key}' is declared {twice.Count()} times; each schedule name is declared once.");
        }

        foreach (var declaration in declared)
        {
            if (registry.Find(declaration.JobType.Name) is null)
            {
                throw new InvalidOperationException(
                    $"Schedule '{declaration.Name}' spawns jobs of type '{declaration.JobType}', which this silo does not register; register its initializer (AddJobInitializer, AddInitializer) where the schedule is declared.");
            }

            if (retired.Contains(declaration.Name, StringComparer.Ordinal))
            {
                throw new InvalidOperationException($"Schedule '{declaration.Name}' is both declared and retired; keep one of the two.");
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Limits of job type {JobType} declared in code {Outcome}: {Limits}.")]
    private partial void LogLimitsApplied(string jobType, string outcome, string limits);

    [LoggerMessage(Level = LogLevel.Information, Message = "Schedule {Schedule} declared in code: {Outcome} ({Cron} in {TimeZone}, job type {JobType}).")]
    private partial void LogScheduleApplied(string schedule, string outcome, string cron, string timeZone, string jobType);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Schedule {Schedule} declared in code is as last applied; its stored definition stands (a run-time change survives restarts).")]
    private partial void LogScheduleUnchanged(string schedule);

    [LoggerMessage(Level = LogLevel.Information, Message = "Schedule {Schedule} retired in code: removed.")]
    private partial void LogScheduleRetired(string schedule);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Schedule {Schedule} (job type {JobType}) was declared in code by an earlier start but not by this silo; it keeps ticking. To stop it, retire it in code (RetireRecurringJob) or remove it (JobSchedules.RemoveAsync).")]
    private partial void LogScheduleNotDeclared(string schedule, string jobType);
}
