namespace Job;

/// <summary>One job of a bulk spawn (<see cref="JobSpawner{TConfig}.SpawnAllAsync(IEnumerable{JobSpec{TConfig}}, CancellationToken)"/>).</summary>
/// <typeparam name="TConfig">The job type's config.</typeparam>
public sealed record JobSpec<TConfig>(JobId Id, TConfig Config)
{
    /// <summary>When it is due; null means now.</summary>
    public DateTimeOffset? ScheduleAt { get; init; }

    /// <summary>Its serial queue, if any: at most one job of a queue runs at a time (or the queue's
    /// limit), in due order.</summary>
    public string? QueueId { get; init; }

    /// <summary>Higher runs first among the type's due jobs; default 0. One slot in ten still goes to
    /// the type's longest-waiting job, so a low priority waits longer but never forever.</summary>
    public short Priority { get; init; }
}
