using Job.Execution;

namespace Job.Tests.Retry;

/// <summary>Shared fixtures mirroring the helpers of the crate's src/entity.rs tests.</summary>
internal static class RetryTestData
{
    public static readonly DateTimeOffset Now = new(2025, 3, 14, 12, 0, 0, TimeSpan.Zero);

    public static readonly TimeSpan Backoff = TimeSpan.FromSeconds(30);

    public const int ResetMultiple = 3;

    public static TimeSpan ResetThreshold => Backoff * ResetMultiple;

    public static TimeSpan ElapsedJustUnderReset => ResetThreshold - TimeSpan.FromSeconds(1);

    public static TimeSpan ElapsedJustOverReset => ResetThreshold + TimeSpan.FromSeconds(1);

    /// <summary>Crate <c>build_retry_policy</c>: 30 s .. 600 s, no jitter, reset after 3 backoffs.</summary>
    public static RetrySettings Settings(int? nAttempts) => new()
    {
        NAttempts = nAttempts,
        MinBackoff = TimeSpan.FromSeconds(30),
        MaxBackoff = TimeSpan.FromSeconds(600),
        BackoffJitterPct = 0,
        AttemptResetAfterBackoffMultiples = ResetMultiple,
    };

    /// <summary>Crate <c>schedule_window</c>: a retry due <paramref name="elapsedSinceSchedule"/> ago after a 30 s backoff.</summary>
    public static RetryWindow Window(DateTimeOffset now, TimeSpan elapsedSinceSchedule)
    {
        var scheduledAt = now - elapsedSinceSchedule;
        return RetryWindow.TryCreate(scheduledAt - Backoff, scheduledAt)
            ?? throw new InvalidOperationException("schedule window must be valid");
    }

    /// <summary>Crate <c>scheduled_event</c>: an ExecutionScheduled for <paramref name="attempt"/>, recorded at the window's failure time.</summary>
    public static (int Attempt, DateTimeOffset ScheduledAt, DateTimeOffset RecordedAt) Scheduled(int attempt, RetryWindow window)
        => (attempt, window.RetryScheduledAt, window.FailureRecordedAt);
}
