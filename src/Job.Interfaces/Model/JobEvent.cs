namespace Job;

/// <summary>
/// One entry of a job's history. The history is append-only and written in the same transaction
/// as the state change it describes, so it never disagrees with the job's state.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record JobEvent
{
    /// <summary>Global order of the event (increasing).</summary>
    [Id(0)] public long Sequence { get; init; }
    /// <summary>What happened; one of the <see cref="JobEventTypes"/> names.</summary>
    [Id(1)] public required string Type { get; init; }
    /// <summary>The attempt it concerns, where that applies.</summary>
    [Id(2)] public int? Attempt { get; init; }
    /// <summary>When it was scheduled to run next, for scheduling events.</summary>
    [Id(3)] public DateTimeOffset? ScheduledAt { get; init; }
    /// <summary>The error message, for failures.</summary>
    [Id(4)] public string? ErrorMessage { get; init; }
    /// <summary>The .NET type name of the exception, for failures.</summary>
    [Id(5)] public string? ErrorType { get; init; }
    /// <summary>A free-form reason (aborts, rescues).</summary>
    [Id(6)] public string? Reason { get; init; }
    /// <summary>When it was recorded (application clock).</summary>
    [Id(7)] public DateTimeOffset RecordedAt { get; init; }
    /// <summary>Who caused it, when an operator did (a retry or cancel from the admin API, the
    /// dashboard or the CLI); null for the runtime's own events.</summary>
    [Id(8)] public string? Actor { get; init; }
    /// <summary>The exception as .NET prints it (stack trace and inner exceptions), for failures of
    /// runs: what a page shows under the message. Cut at 16,384 characters; null for failures written
    /// by a silo of a release before it.</summary>
    [Id(9)] public string? ErrorDetail { get; init; }
}

/// <summary>The names of history events, as stored in <c>job_events.event_type</c>.</summary>
public static class JobEventTypes
{
    /// <summary>The job was created.</summary>
    public const string Initialized = "initialized";
    /// <summary>A run was scheduled (spawn, retry, reschedule, abort, rescue).</summary>
    public const string ExecutionScheduled = "execution_scheduled";
    /// <summary>A run finished and asked to complete or reschedule.</summary>
    public const string ExecutionCompleted = "execution_completed";
    /// <summary>A run failed (exception, init failure, bad config).</summary>
    public const string ExecutionErrored = "execution_errored";
    /// <summary>A run was cut short by shutdown and handed back.</summary>
    public const string ExecutionAborted = "execution_aborted";
    /// <summary>The attempt counter went back to 1 after a healthy gap.</summary>
    public const string AttemptCounterReset = "attempt_counter_reset";
    /// <summary>The silo running the job was declared dead; the job went back to pending.</summary>
    public const string SiloLost = "silo_lost";
    /// <summary>The job's heartbeat stopped; it went back to pending.</summary>
    public const string JobLost = "job_lost";
    /// <summary>The job was spawned by a tick of a recurring schedule: <see cref="JobEvent.Reason"/> is the
    /// schedule's name, <see cref="JobEvent.ScheduledAt"/> the tick.</summary>
    public const string ScheduleTick = "schedule_tick";
    /// <summary>Terminal: success.</summary>
    public const string JobCompleted = "job_completed";
    /// <summary>Terminal: attempts exhausted.</summary>
    public const string JobErrored = "job_errored";
    /// <summary>Terminal: cancelled.</summary>
    public const string JobCancelled = "job_cancelled";
    /// <summary>An operator asked the running job to stop; its runner's token fired.</summary>
    public const string CancelRequested = "cancel_requested";
    /// <summary>An operator retried the job now (see <c>JobAdmin.RetryAsync</c> for the attempt rule).</summary>
    public const string Retried = "retried";
}
