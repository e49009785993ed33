namespace Job.Storage;

/// <summary>
/// One job claimed by a silo's poller: everything a run needs, read in the claim itself so a run
/// costs no extra round trip. <see cref="ClaimToken"/> is the fencing token every write back presents.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record ClaimedJob
{
    /// <summary>The job.</summary>
    [Id(0)] public required JobId Id { get; init; }
    /// <summary>Its type name.</summary>
    [Id(1)] public required string JobType { get; init; }
    /// <summary>Its serial queue, if any.</summary>
    [Id(2)] public string? QueueId { get; init; }
    /// <summary>The attempt this run is (1-based).</summary>
    [Id(3)] public required int Attempt { get; init; }
    /// <summary>The fencing token of this claim.</summary>
    [Id(4)] public required long ClaimToken { get; init; }
    /// <summary>The checkpoint saved by earlier runs.</summary>
    [Id(5)] public string? ExecutionStateJson { get; init; }
    /// <summary>When the failure before the current retry was recorded.</summary>
    [Id(6)] public DateTimeOffset? RetryFailedAt { get; init; }
    /// <summary>When the current retry was due.</summary>
    [Id(7)] public DateTimeOffset? RetryDueAt { get; init; }
    /// <summary>When this run was due (application clock).</summary>
    [Id(8)] public DateTimeOffset DueAt { get; init; }
    /// <summary>The configuration JSON.</summary>
    [Id(9)] public required string ConfigJson { get; init; }
    /// <summary>The trace context captured at spawn.</summary>
    [Id(10)] public string? TraceParent { get; init; }
    /// <summary>The silo that claimed it.</summary>
    [Id(11)] public string? ClaimedBy { get; init; }
    /// <summary>When the job was created.</summary>
    [Id(12)] public DateTimeOffset CreatedAt { get; init; }
}
