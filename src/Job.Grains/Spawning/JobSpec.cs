namespace Job;

/// <summary>One job of a bulk spawn (<see cref="JobSpawner{TConfig}.SpawnAllAsync(IEnumerable{JobSpec{TConfig}}, CancellationToken)"/>).</summary>
/// <typeparam name="TConfig">The job type's config.</typeparam>
public sealed record JobSpec<TConfig>(JobId Id, TConfig Config)
{
    /// <summary>When it is due; null means now.</summary>
    public DateTimeOffset? ScheduleAt { get; init; }

    /// <summary>Its serial queue, if any.</summary>
    public string? QueueId { get; init; }
}
