namespace Job;

/// <summary>
/// How a job type reacts when a run fails (throws): how many runs it gets in total, how
/// quickly it is retried, and when a failure is loud enough to log at Error.
/// Mirrors the crate's <c>RetrySettings</c> so that a port of an existing job keeps its
/// retry behaviour; the defaults are the crate's defaults.
/// </summary>
public sealed record RetrySettings
{
    /// <summary>
    /// Total number of runs, the first one included; <see langword="null"/> retries forever.
    /// <c>3</c> means attempts 1, 2 and 3 run and the failure of attempt 3 ends the job as errored.
    /// Values below 1 are rejected by <see cref="Validate"/> (the crate silently treats 0 as 1).
    /// </summary>
    public int? NAttempts { get; init; } = 30;

    /// <summary>
    /// Failures whose next attempt is at most this number log at Warning, later ones at Error,
    /// so that a transient blip does not page anyone. <see langword="null"/> keeps retried
    /// failures at Warning; a terminal failure is always Error.
    /// </summary>
    public int? NWarnAttempts { get; init; } = 3;

    /// <summary>Delay after the first failure; doubles with each further consecutive failure.</summary>
    public TimeSpan MinBackoff { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Upper bound on any retry delay, jitter included, so a long outage never parks a job for days.</summary>
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromHours(1);

    /// <summary>
    /// Spread (± percent, 0..100) applied to each delay so that jobs which failed together
    /// do not all retry at the same instant.
    /// </summary>
    public int BackoffJitterPct { get; init; } = 20;

    /// <summary>
    /// When the current retry run has been due for more than this many times the backoff that
    /// preceded it, the job is considered healthy again and the attempt counter restarts at 1,
    /// so that a long-lived job is not killed by failures spread over weeks.
    /// </summary>
    public int AttemptResetAfterBackoffMultiples { get; init; } = 3;

    /// <summary>The crate's defaults; shared because the record is immutable.</summary>
    public static RetrySettings Default { get; } = new();

    /// <summary>
    /// Defaults, but never gives up: for jobs that must eventually succeed, such as
    /// periodic maintenance that reschedules itself.
    /// </summary>
    public static RetrySettings RepeatIndefinitely() => new() { NAttempts = null };

    /// <summary>
    /// Rejects settings the backoff arithmetic cannot give a meaning to, at registration time
    /// rather than at the first failure.
    /// </summary>
    /// <exception cref="ArgumentException">A value is out of range; the message names it.</exception>
    public void Validate()
    {
        if (NAttempts is { } attempts && attempts < 1)
        {
            throw new ArgumentOutOfRangeException(
                nameof(NAttempts), attempts,
                "RetrySettings.NAttempts must be at least 1 (the first run counts) or null to retry forever.");
        }

        if (NWarnAttempts is { } warn && warn < 0)
        {
            throw new ArgumentOutOfRangeException(
                nameof(NWarnAttempts), warn,
                "RetrySettings.NWarnAttempts must not be negative (0 logs every failure at Error; null never escalates).");
        }

        if (MinBackoff < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(
                nameof(MinBackoff), MinBackoff, "RetrySettings.MinBackoff must not be negative.");
        }

        if (MaxBackoff < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(
                nameof(MaxBackoff), MaxBackoff, "RetrySettings.MaxBackoff must not be negative.");
        }

        if (MinBackoff > MaxBackoff)
        {
            throw new ArgumentException(
                $"RetrySettings.MinBackoff ({MinBackoff}) must not exceed MaxBackoff ({MaxBackoff}).",
                nameof(MinBackoff));
        }

        if (BackoffJitterPct is < 0 or > 100)
        {
            throw new ArgumentOutOfRangeException(
                nameof(BackoffJitterPct), BackoffJitterPct,
                "RetrySettings.BackoffJitterPct must be between 0 and 100.");
        }

        if (AttemptResetAfterBackoffMultiples < 0)
        {
            throw new ArgumentOutOfRangeException(
                nameof(AttemptResetAfterBackoffMultiples), AttemptResetAfterBackoffMultiples,
                "RetrySettings.AttemptResetAfterBackoffMultiples must not be negative.");
        }
    }
}
