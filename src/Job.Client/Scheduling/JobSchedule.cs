namespace Job;

/// <summary>Who wrote a schedule's definition last.</summary>
public enum JobScheduleSource
{
    /// <summary>A declaration in code, applied when a silo started.</summary>
    Code = 0,

    /// <summary>A change through <see cref="JobSchedules"/> at run time.</summary>
    RunTime = 1,
}

/// <summary>A recurring schedule as stored: its definition, its state, and where the definition came from.</summary>
public sealed record JobSchedule
{
    /// <summary>The schedule's name.</summary>
    public required string Name { get; init; }

    /// <summary>The type of the jobs it spawns.</summary>
    public required JobType JobType { get; init; }

    /// <summary>The cron expression.</summary>
    public required string Cron { get; init; }

    /// <summary>The time zone the expression is read in.</summary>
    public required string TimeZone { get; init; }

    /// <summary>The config of every tick's job, as JSON.</summary>
    public required string ConfigJson { get; init; }

    /// <summary>The priority of every tick's job.</summary>
    public short Priority { get; init; }

    /// <summary>What happens to ticks missed while no silo could fire them.</summary>
    public required JobMisfirePolicy Misfire { get; init; }

    /// <summary>How late a tick may be before it counts as missed.</summary>
    public TimeSpan MisfireThreshold { get; init; }

    /// <summary>What happens to a tick due while the previous tick's job has not ended.</summary>
    public JobOverlapPolicy Overlap { get; init; }

    /// <summary>Paused: its ticks pass without a job until it is resumed.</summary>
    public bool Paused { get; init; }

    /// <summary>The next tick it will fire (application clock); null when the expression fires no more.</summary>
    public DateTimeOffset? NextTick { get; init; }

    /// <summary>The latest tick it handled.</summary>
    public DateTimeOffset? LastTick { get; init; }

    /// <summary>The job of the latest tick that spawned one.</summary>
    public JobId? LastJobId { get; init; }

    /// <summary>Who wrote the definition last.</summary>
    public JobScheduleSource Source { get; init; }

    /// <summary>True when the schedule is declared in code (on the silos that last started with it).</summary>
    public bool DeclaredInCode { get; init; }

    /// <summary>When it was created (database time).</summary>
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>When it last changed (database time).</summary>
    public DateTimeOffset UpdatedAt { get; init; }

    /// <summary>Who changed it last, as the caller said (<c>code</c> for a declaration).</summary>
    public string? UpdatedBy { get; init; }
}

/// <summary>How a schedule handled one tick.</summary>
public enum JobScheduleTickOutcome
{
    /// <summary>The tick spawned its job.</summary>
    Spawned = 0,

    /// <summary>The previous tick's job had not ended and the schedule skips overlapping ticks.</summary>
    Skipped = 1,
}

/// <summary>One handled tick of a schedule.</summary>
/// <param name="Tick">The tick's time (application clock).</param>
/// <param name="Outcome">What the tick did.</param>
/// <param name="JobId">The job it spawned, if it did.</param>
/// <param name="RecordedAt">When the tick was handled (application clock).</param>
public sealed record JobScheduleTick(DateTimeOffset Tick, JobScheduleTickOutcome Outcome, JobId? JobId, DateTimeOffset RecordedAt);
