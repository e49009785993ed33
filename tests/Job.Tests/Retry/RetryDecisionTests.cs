using Job.Execution;
using Microsoft.Extensions.Logging;
using static Job.Tests.Retry.RetryTestData;

namespace Job.Tests.Retry;

/// <summary>
/// Crate tests 1–7 and 8–10 (§10.1; <c>Job::maybe_schedule_retry</c> and
/// <c>latest_retry_window</c>) plus the Warning/Error rule of §4.5. The crate builds a job from
/// a synthetic event history; here the schedule history goes through
/// <see cref="RetryWindow.FromLatestSchedule"/> and the decision is checked as a value.
/// </summary>
public sealed class RetryDecisionTests
{
    [Fact]
    public void Crate01_maybe_schedule_retry_emits_next_attempt_when_allowed()
    {
        var latest = Window(Now, ElapsedJustUnderReset);
        var window = RetryWindow.FromLatestSchedule([Scheduled(1, latest)]);

        var decision = RetryDecision.Decide(Now, 1, window, Settings(3));

        Assert.True(decision.WillRetry);
        Assert.Equal(2, decision.NextAttempt);
        Assert.False(decision.AttemptCounterReset);
        Assert.Equal(Now + TimeSpan.FromSeconds(30), decision.RetryAt);
    }

    [Fact]
    public void Crate02_maybe_schedule_retry_handles_zero_attempt_index()
    {
        var decision = RetryDecision.Decide(Now, 0, RetryWindow.FromLatestSchedule([]), Settings(3));

        Assert.True(decision.WillRetry);
        Assert.Equal(2, decision.NextAttempt);
        Assert.Equal(Now + TimeSpan.FromSeconds(30), decision.RetryAt);
    }

    [Fact]
    public void Crate03_maybe_schedule_retry_records_terminal_failure_when_limit_hit()
    {
        var first = Window(Now, TimeSpan.FromMinutes(5));
        var second = Window(Now, ElapsedJustUnderReset);
        var window = RetryWindow.FromLatestSchedule([Scheduled(1, first), Scheduled(2, second)]);

        var decision = RetryDecision.Decide(Now, 2, window, Settings(2));

        Assert.False(decision.WillRetry);
        Assert.Null(decision.RetryAt);
        Assert.False(decision.AttemptCounterReset);
        Assert.Equal(LogLevel.Error, decision.Level);
    }

    [Fact]
    public void Crate04_maybe_schedule_retry_resets_attempt_after_healthy_gap()
    {
        var first = Window(Now, TimeSpan.FromMinutes(15));
        var healthy = Window(Now, ElapsedJustOverReset);
        var window = RetryWindow.FromLatestSchedule([Scheduled(1, first), Scheduled(2, healthy)]);

        var decision = RetryDecision.Decide(Now, 2, window, Settings(5));

        Assert.True(decision.WillRetry);
        Assert.True(decision.AttemptCounterReset);
        Assert.Equal(2, decision.NextAttempt);
        Assert.Equal(Now + TimeSpan.FromSeconds(30), decision.RetryAt); // back to min_backoff
    }

    [Fact]
    public void Crate05_maybe_schedule_retry_allows_retry_when_next_attempt_hits_limit()
    {
        var first = Window(Now, TimeSpan.FromMinutes(5));
        var latest = Window(Now, ElapsedJustUnderReset);
        var window = RetryWindow.FromLatestSchedule([Scheduled(1, first), Scheduled(2, latest)]);

        var decision = RetryDecision.Decide(Now, 2, window, Settings(3));

        Assert.True(decision.WillRetry);
        Assert.False(decision.AttemptCounterReset);
        Assert.Equal(3, decision.NextAttempt);
        Assert.Equal(Now + TimeSpan.FromSeconds(60), decision.RetryAt);
    }

    [Fact]
    public void Crate06_maybe_schedule_retry_resets_even_when_retry_limit_reached()
    {
        var first = Window(Now, TimeSpan.FromMinutes(20));
        var second = Window(Now, TimeSpan.FromMinutes(10));
        var healthy = Window(Now, ElapsedJustOverReset);
        var window = RetryWindow.FromLatestSchedule(
            [Scheduled(1, first), Scheduled(2, second), Scheduled(3, healthy)]);

        var decision = RetryDecision.Decide(Now, 3, window, Settings(3));

        Assert.True(decision.WillRetry);
        Assert.True(decision.AttemptCounterReset);
        Assert.Equal(2, decision.NextAttempt);
    }

    [Fact]
    public void Crate07_maybe_schedule_retry_with_unbounded_limit_handles_saturation()
    {
        var latest = Window(Now, ElapsedJustUnderReset);
        var window = RetryWindow.FromLatestSchedule([Scheduled(int.MaxValue, latest)]);

        var decision = RetryDecision.Decide(Now, int.MaxValue, window, Settings(null));

        Assert.True(decision.WillRetry);
        Assert.False(decision.AttemptCounterReset);
        Assert.Equal(int.MaxValue, decision.NextAttempt);
        Assert.Equal(Now + TimeSpan.FromSeconds(600), decision.RetryAt); // capped at max_backoff
    }

    [Fact]
    public void Crate08_latest_retry_window_returns_retry_window()
    {
        var first = Window(Now, TimeSpan.FromMinutes(5));
        var retry = Window(Now, TimeSpan.FromMinutes(1));

        var window = RetryWindow.FromLatestSchedule([Scheduled(1, first), Scheduled(2, retry)]);

        Assert.NotNull(window);
        Assert.Equal(retry.FailureRecordedAt, window.Value.FailureRecordedAt);
        Assert.Equal(retry.RetryScheduledAt, window.Value.RetryScheduledAt);
    }

    [Fact]
    public void Crate09_latest_retry_window_returns_none_for_initial_attempt()
    {
        var initial = Window(Now, TimeSpan.FromMinutes(2));

        Assert.Null(RetryWindow.FromLatestSchedule([Scheduled(1, initial)]));
    }

    [Fact]
    public void Crate10_latest_retry_window_ignores_older_retries_when_latest_is_initial()
    {
        var first = Window(Now, TimeSpan.FromMinutes(30));
        var retry = Window(Now, TimeSpan.FromMinutes(20));
        var rescheduled = Window(Now, TimeSpan.FromMinutes(10));

        var window = RetryWindow.FromLatestSchedule(
            [Scheduled(1, first), Scheduled(2, retry), Scheduled(1, rescheduled)]);

        Assert.Null(window);
    }

    [Fact]
    public void Reset_is_skipped_without_a_window_so_attempts_accumulate()
    {
        var decision = RetryDecision.Decide(Now, 4, null, Settings(10));

        Assert.False(decision.AttemptCounterReset);
        Assert.Equal(5, decision.NextAttempt);
        Assert.Equal(Now + TimeSpan.FromSeconds(240), decision.RetryAt); // 30 s · 2^3
    }

    [Fact]
    public void NAttempts_one_never_retries()
    {
        var decision = RetryDecision.Decide(Now, 1, null, Settings(1));

        Assert.False(decision.WillRetry);
        Assert.Equal(LogLevel.Error, decision.Level);
    }

    [Fact]
    public void Negative_attempt_counts_as_one()
    {
        var decision = RetryDecision.Decide(Now, -5, null, Settings(3));

        Assert.Equal(2, decision.NextAttempt);
        Assert.Equal(Now + TimeSpan.FromSeconds(30), decision.RetryAt);
    }

    [Theory]
    [InlineData(1, LogLevel.Warning)] // next 2
    [InlineData(2, LogLevel.Warning)] // next 3 == NWarnAttempts
    [InlineData(3, LogLevel.Error)]   // next 4 > NWarnAttempts
    [InlineData(29, LogLevel.Error)]  // next 30, last retry
    [InlineData(30, LogLevel.Error)]  // terminal
    public void Level_with_defaults_warns_for_first_two_failures_then_errors(int attempt, LogLevel expected)
    {
        var decision = RetryDecision.Decide(Now, attempt, null, RetrySettings.Default, new Random(1));

        Assert.Equal(expected, decision.Level);
        Assert.Equal(attempt < 30, decision.WillRetry);
    }

    [Fact]
    public void Level_without_warn_limit_stays_warning_while_retrying()
    {
        var settings = RetrySettings.Default with { NWarnAttempts = null };

        Assert.Equal(LogLevel.Warning, RetryDecision.Decide(Now, 25, null, settings, new Random(1)).Level);
    }

    [Fact]
    public void Level_is_error_for_terminal_failure_even_without_warn_limit()
    {
        var settings = RetrySettings.Default with { NWarnAttempts = null, NAttempts = 2 };

        var decision = RetryDecision.Decide(Now, 2, null, settings, new Random(1));

        Assert.False(decision.WillRetry);
        Assert.Equal(LogLevel.Error, decision.Level);
    }

    [Fact]
    public void Level_with_zero_warn_attempts_is_always_error()
    {
        var settings = RetrySettings.Default with { NWarnAttempts = 0 };

        Assert.Equal(LogLevel.Error, RetryDecision.Decide(Now, 1, null, settings, new Random(1)).Level);
    }

    [Fact]
    public void Retry_at_uses_jittered_backoff_from_given_random()
    {
        var settings = Settings(5) with { BackoffJitterPct = 20 };

        var decision = RetryDecision.Decide(Now, 1, null, settings, new Random(42));

        Assert.NotNull(decision.RetryAt);
        var delay = decision.RetryAt.Value - Now;
        Assert.InRange(delay, TimeSpan.FromSeconds(24), TimeSpan.FromSeconds(36));
        Assert.Equal(decision.RetryAt, RetryDecision.Decide(Now, 1, null, settings, new Random(42)).RetryAt);
    }
}
