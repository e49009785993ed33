using Microsoft.Extensions.Logging;

namespace Job.Execution;

/// <summary>
/// What to do after a run failed (crate <c>maybe_schedule_retry</c>, §4.2, §4.4, §4.5), as a
/// pure value so the storage layer can write it in one transaction and tests can check it
/// without a database.
/// </summary>
/// <param name="WillRetry">False when the attempts are used up: the job ends as errored.</param>
/// <param name="NextAttempt">
/// Attempt index of the retry (saturating at <see cref="int.MaxValue"/>); when terminal, the
/// attempt that would have followed.
/// </param>
/// <param name="RetryAt">When the retry is due; <see langword="null"/> when terminal.</param>
/// <param name="AttemptCounterReset">The job was healthy long enough that the counter restarted at 1 (emit <c>AttemptCounterReset</c>).</param>
/// <param name="Level">Warning for early retried failures, Error for later ones and always for a terminal one.</param>
internal sealed record RetryDecision(
    bool WillRetry,
    int NextAttempt,
    DateTimeOffset? RetryAt,
    bool AttemptCounterReset,
    LogLevel Level)
{
    /// <summary>Decides with a fresh <see cref="RetryPolicy"/>; see the other overload.</summary>
    public static RetryDecision Decide(
        DateTimeOffset now, int attempt, RetryWindow? latestWindow, RetrySettings settings, Random? rng = null, DateTimeOffset? runStartedAt = null)
        => Decide(now, attempt, latestWindow, new RetryPolicy(settings), rng, runStartedAt);

    /// <summary>Computes the decision for the failure of <paramref name="attempt"/>.</summary>
    /// <param name="now">The application clock's time of the failure.</param>
    /// <param name="attempt">The attempt index read at claim time; values below 1 count as 1.</param>
    /// <param name="latestWindow">From <see cref="RetryWindow.FromLatestSchedule"/>; drives the healthy reset.</param>
    /// <param name="policy">Backoff arithmetic for the job type.</param>
    /// <param name="rng">Jitter source; <see langword="null"/> uses <see cref="Random.Shared"/>.</param>
    /// <param name="runStartedAt">When the failed run started; the healthy-gap reset counts from it.</param>
    public static RetryDecision Decide(
        DateTimeOffset now, int attempt, RetryWindow? latestWindow, RetryPolicy policy, Random? rng = null, DateTimeOffset? runStartedAt = null)
    {
        ArgumentNullException.ThrowIfNull(policy);
        var settings = policy.Settings;

        var current = Math.Max(attempt, 1);
        var reset = false;
        if (latestWindow is { } window && policy.ShouldResetAttemptCount(now, window, runStartedAt))
        {
            current = 1;
            reset = true;
        }

        var next = current == int.MaxValue ? int.MaxValue : current + 1;
        if (next > (settings.NAttempts ?? int.MaxValue))
        {
            return new RetryDecision(false, next, null, reset, LogLevel.Error);
        }

        var level = settings.NWarnAttempts is { } warn && next > warn ? LogLevel.Error : LogLevel.Warning;
        var at = policy.NextAttemptAt(now, current, rng);
        return new RetryDecision(true, next, at, reset, level);
    }
}
