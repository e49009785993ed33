namespace Job.Claims;

/// <summary>
/// One job claimed by this silo: everything its run needs, read in the claim itself so a run costs
/// no extra round trip. <see cref="ClaimToken"/> is the fencing token every write back presents.
/// </summary>
internal sealed record ClaimedJob
{
    /// <summary>The job.</summary>
    public required JobId Id { get; init; }

    /// <summary>Its type name.</summary>
    public required string JobType { get; init; }

    /// <summary>Its serial queue, if any.</summary>
    public string? QueueId { get; init; }

    /// <summary>The attempt this run is (1-based).</summary>
    public required int Attempt { get; init; }

    /// <summary>The fencing token of this claim.</summary>
    public required long ClaimToken { get; init; }

    /// <summary>The checkpoint saved by earlier runs.</summary>
    public string? ExecutionStateJson { get; init; }

    /// <summary>When the failure before the current retry was recorded.</summary>
    public DateTimeOffset? RetryFailedAt { get; init; }

    /// <summary>When the current retry was due.</summary>
    public DateTimeOffset? RetryDueAt { get; init; }

    /// <summary>When this run was due (application clock).</summary>
    public DateTimeOffset DueAt { get; init; }

    /// <summary>When this run was claimed (application clock): how long it ran healthy before failing.</summary>
    public DateTimeOffset? StartedAt { get; init; }

    /// <summary>The configuration JSON.</summary>
    public required string ConfigJson { get; init; }

    /// <summary>The trace context captured at spawn.</summary>
    public string? TraceParent { get; init; }

    /// <summary>When the job was created.</summary>
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>The claim's key in this silo: a stale run of a job and its new claim are two keys.</summary>
    public (JobId Id, long Token) Key => (Id, ClaimToken);
}
