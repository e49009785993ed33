namespace Job.Execution;

/// <summary>
/// The most recent retry: when the failure that caused it was recorded and when the retry
/// was due. Its length is the backoff that was chosen, which the "healthy again" reset
/// (crate §4.4) compares against how long the retry run has been going.
/// Only <see cref="TryCreate"/> builds one, so <see cref="Backoff"/> is always positive.
/// </summary>
internal readonly record struct RetryWindow
{
    private RetryWindow(DateTimeOffset failureRecordedAt, DateTimeOffset retryScheduledAt)
    {
        FailureRecordedAt = failureRecordedAt;
        RetryScheduledAt = retryScheduledAt;
    }

    public DateTimeOffset FailureRecordedAt { get; }

    public DateTimeOffset RetryScheduledAt { get; }

    /// <summary>Rejects empty and inverted ranges (<c>failure ≥ scheduled</c>), which carry no backoff.</summary>
    public static RetryWindow? TryCreate(DateTimeOffset failureRecordedAt, DateTimeOffset retryScheduledAt)
        => failureRecordedAt >= retryScheduledAt
            ? null
            : new RetryWindow(failureRecordedAt, retryScheduledAt);

    /// <summary>
    /// The window implied by a job's schedule history (crate <c>latest_retry_window</c>): only the
    /// newest schedule matters; it is a retry window if its attempt is above 1, otherwise
    /// (spawn or reschedule) there is none.
    /// </summary>
    /// <param name="schedulesInRecordOrder">
    /// Every persisted <c>ExecutionScheduled</c>, oldest first, with the time it was recorded.
    /// </param>
    public static RetryWindow? FromLatestSchedule(
        IEnumerable<(int Attempt, DateTimeOffset ScheduledAt, DateTimeOffset RecordedAt)> schedulesInRecordOrder)
    {
        ArgumentNullException.ThrowIfNull(schedulesInRecordOrder);
        (int Attempt, DateTimeOffset ScheduledAt, DateTimeOffset RecordedAt)? latest = null;
        foreach (var schedule in schedulesInRecordOrder)
        {
            latest = schedule;
        }

        return latest is { Attempt: > 1 } retry
            ? TryCreate(retry.RecordedAt, retry.ScheduledAt)
            : null;
    }

    /// <summary>The backoff that was waited: scheduled minus failure.</summary>
    public TimeSpan Backoff => RetryScheduledAt - FailureRecordedAt;

    /// <summary>How long the retry has been due; <see langword="null"/> while it is still in the future.</summary>
    public TimeSpan? ElapsedSinceRetrySchedule(DateTimeOffset now)
        => now < RetryScheduledAt ? null : now - RetryScheduledAt;
}
