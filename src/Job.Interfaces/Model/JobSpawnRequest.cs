namespace Job;

/// <summary>
/// What an Orleans client sends to spawn a job by type name. The config travels as JSON text so a
/// client needs no reference to the runner's config type; it is validated as JSON on arrival.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record JobSpawnRequest
{
    /// <summary>The id the job will have; choose it so a retried call is idempotent.</summary>
    [Id(0)] public required JobId Id { get; init; }
    /// <summary>The configuration as JSON text.</summary>
    [Id(1)] public required string ConfigJson { get; init; }
    /// <summary>When the job is due; null means now.</summary>
    [Id(2)] public DateTimeOffset? ScheduleAt { get; init; }
    /// <summary>A serial queue: at most one job per queue id runs at a time, in due order.</summary>
    [Id(3)] public string? QueueId { get; init; }
    /// <summary>The W3C traceparent of the caller, so the job's runs join the caller's trace.</summary>
    [Id(4)] public string? TraceParent { get; init; }

    /// <summary>Higher runs first among the type's due jobs (default 0; see <c>JobSpec.Priority</c>).</summary>
    [Id(5)] public short Priority { get; init; }
}
