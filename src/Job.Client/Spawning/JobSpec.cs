namespace Job;

/// <summary>One job with every spawn option: for <see cref="JobSpawner{TConfig}.SpawnAsync(JobSpec{TConfig}, CancellationToken)"/>,
/// <see cref="JobSpawner{TConfig}.SpawnUniqueAsync(JobSpec{TConfig}, CancellationToken)"/> and bulk spawns
/// (<see cref="JobSpawner{TConfig}.SpawnAllAsync(IEnumerable{JobSpec{TConfig}}, CancellationToken)"/>).</summary>
/// <typeparam name="TConfig">The job type's config.</typeparam>
public sealed record JobSpec<TConfig>(JobId Id, TConfig Config)
{
    /// <summary>When it is due; null means now.</summary>
    public DateTimeOffset? ScheduleAt { get; init; }

    /// <summary>Its serial queue, if any: at most one job of a queue runs at a time (or the queue's
    /// limit), in due order.</summary>
    public string? QueueId { get; init; }

    /// <summary>Higher runs first among the type's due jobs (-32,768 to 32,767); default 0. Against
    /// starvation, one claim slot in ten of a type (counted per silo, across its claims) goes to the
    /// type's longest-waiting due jobs whatever their priority, so under a steady stream of
    /// high-priority work a low-priority job still starts: it waits longer, never forever. Priorities order jobs
    /// within a type; across types, each type gets its fair share of a silo's claims.</summary>
    public short Priority { get; init; }
}
