using Job.Execution;

namespace Job.Tests.Retry;

/// <summary>
/// Crate tests 15–24 (§10.1, <c>mod retry_policy</c>), the later crate test
/// <c>apply_jitter_survives_huge_backoff_without_overflow</c>, and <see cref="RetrySettings"/>
/// defaults and validation.
/// </summary>
public sealed class RetryPolicyTests
{
    private const long MaxBackoffMs = 60_000;

    private static readonly DateTimeOffset Now = new(2025, 3, 14, 12, 0, 0, TimeSpan.Zero);

    private static RetryPolicy Policy(TimeSpan min, TimeSpan max, int jitterPct, int resetMultiples = 1)
        => new(new RetrySettings
        {
            NAttempts = null,
            MinBackoff = min,
            MaxBackoff = max,
            BackoffJitterPct = jitterPct,
            AttemptResetAfterBackoffMultiples = resetMultiples,
        });

    private static RetryPolicy Ms100To60s(int jitterPct)
        => Policy(TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(MaxBackoffMs), jitterPct);

    private static (RetryWindow Window, DateTimeOffset Now) WindowWithElapsed(int backoffSecs, int elapsedSinceScheduleSecs)
    {
        var scheduledAt = Now - TimeSpan.FromSeconds(elapsedSinceScheduleSecs);
        var failureAt = scheduledAt - TimeSpan.FromSeconds(backoffSecs);
        return (RetryWindow.TryCreate(failureAt, scheduledAt) ?? throw new InvalidOperationException("valid window"), Now);
    }

    [Fact]
    public void Crate15_exponential_backoff_grows_correctly()
    {
        var policy = Ms100To60s(0);
        long[] expected = [100, 200, 400, 800];

        for (var attempt = 1; attempt <= 4; attempt++)
        {
            Assert.Equal(TimeSpan.FromMilliseconds(expected[attempt - 1]), policy.CalculateBackoff(attempt, null));
        }
    }

    [Fact]
    public void Crate16_zero_attempt_handled_correctly()
    {
        Assert.Equal(TimeSpan.FromMilliseconds(100), Ms100To60s(0).CalculateBackoff(0, null));
    }

    [Theory]
    [InlineData(20)]
    [InlineData(31)]
    [InlineData(100)]
    [InlineData(1000)]
    [InlineData(int.MaxValue)]
    public void Crate17_high_attempts_capped_at_max_backoff(int attempt)
    {
        Assert.Equal(TimeSpan.FromMilliseconds(MaxBackoffMs), Ms100To60s(0).CalculateBackoff(attempt, null));
    }

    [Fact]
    public void Crate18_attempts_capped_at_30()
    {
        var policy = Ms100To60s(0);

        var backoff31 = policy.CalculateBackoff(31, null);
        var backoff100 = policy.CalculateBackoff(100, null);

        Assert.Equal(backoff31, backoff100);
        Assert.Equal(TimeSpan.FromMilliseconds(MaxBackoffMs), backoff31);
    }

    [Fact]
    public void Crate18_exponent_stops_at_30_below_the_cap()
    {
        var policy = Policy(TimeSpan.FromMilliseconds(1), TimeSpan.MaxValue, 0);

        Assert.Equal(TimeSpan.FromMilliseconds(1L << 30), policy.CalculateBackoff(31, null));
        Assert.Equal(TimeSpan.FromMilliseconds(1L << 30), policy.CalculateBackoff(int.MaxValue, null));
        Assert.Equal(TimeSpan.FromMilliseconds(1L << 29), policy.CalculateBackoff(30, null));
    }

    [Fact]
    public void Crate19_jitter_adds_randomness()
    {
        var policy = Ms100To60s(20);
        var rng = new Random(7);
        var seen = new HashSet<TimeSpan>();

        for (var i = 0; i < 1000; i++)
        {
            var delay = policy.CalculateBackoff(1, rng);
            Assert.InRange(delay, TimeSpan.FromMilliseconds(80), TimeSpan.FromMilliseconds(120));
            seen.Add(delay);
        }

        Assert.Contains(TimeSpan.FromMilliseconds(80), seen);  // inclusive range
        Assert.Contains(TimeSpan.FromMilliseconds(120), seen);
        Assert.True(seen.Count > 20, $"expected varied delays, saw {seen.Count} distinct");
    }

    [Fact]
    public void Crate20_jitter_never_negative()
    {
        var policy = Ms100To60s(20);

        for (var i = 0; i < 100; i++)
        {
            var delay = policy.CalculateBackoff(1, null);
            Assert.InRange(delay, TimeSpan.Zero, TimeSpan.FromMilliseconds(120));
        }

        // Full jitter on a tiny backoff can reach zero but never below.
        var full = Policy(TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(10), 100);
        var rng = new Random(3);
        for (var i = 0; i < 200; i++)
        {
            Assert.InRange(full.CalculateBackoff(1, rng), TimeSpan.Zero, TimeSpan.FromMilliseconds(2));
        }
    }

    [Fact]
    public void Crate21_deterministic_without_jitter()
    {
        var policy = Ms100To60s(0);

        Assert.Equal(policy.CalculateBackoff(5, new Random(1)), policy.CalculateBackoff(5, new Random(2)));
    }

    [Fact]
    public void Crate22_should_reset_attempt_count_returns_false_when_schedule_in_future()
    {
        var policy = Policy(TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(600), 0, 3);
        var (window, now) = WindowWithElapsed(30, -10);

        Assert.False(policy.ShouldResetAttemptCount(now, window));
    }

    [Fact]
    public void Crate23_should_reset_attempt_count_returns_false_when_within_threshold()
    {
        var policy = Policy(TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(600), 0, 3);
        var (window, now) = WindowWithElapsed(30, 80);

        Assert.False(policy.ShouldResetAttemptCount(now, window));
    }

    [Fact]
    public void Crate24_should_reset_attempt_count_returns_true_when_past_threshold()
    {
        var policy = Policy(TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(600), 0, 3);
        var (window, now) = WindowWithElapsed(30, 95);

        Assert.True(policy.ShouldResetAttemptCount(now, window));
    }

    [Fact]
    public void Should_reset_requires_strictly_more_than_threshold()
    {
        var policy = Policy(TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(600), 0, 3);

        Assert.False(policy.ShouldResetAttemptCount(Now, WindowWithElapsed(30, 90).Window));
        Assert.True(policy.ShouldResetAttemptCount(Now + TimeSpan.FromTicks(1), WindowWithElapsed(30, 90).Window));
    }

    [Fact]
    public void Should_reset_with_huge_multiples_does_not_overflow()
    {
        var policy = Policy(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), 0, int.MaxValue);
        var window = RetryWindow.TryCreate(DateTimeOffset.MinValue, DateTimeOffset.MinValue + TimeSpan.FromDays(365_000))!.Value;

        Assert.False(policy.ShouldResetAttemptCount(DateTimeOffset.MaxValue, window));
    }

    [Fact]
    public void CrateLater_apply_jitter_survives_huge_backoff_without_overflow()
    {
        var policy = Policy(TimeSpan.MaxValue, TimeSpan.MaxValue, 100);
        var maxWholeMs = TimeSpan.FromTicks(TimeSpan.MaxValue.Ticks / TimeSpan.TicksPerMillisecond * TimeSpan.TicksPerMillisecond);
        var rng = new Random(11);

        foreach (var attempt in new[] { 0, 1, 2, 31, int.MaxValue })
        {
            for (var i = 0; i < 50; i++)
            {
                Assert.InRange(policy.CalculateBackoff(attempt, rng), TimeSpan.Zero, maxWholeMs);
            }
        }

        // The raw helper, beyond what validated settings allow (crate: u64::MAX and pct 255).
        for (var i = 0; i < 50; i++)
        {
            Assert.InRange(RetryPolicy.ApplyJitter(ulong.MaxValue, ulong.MaxValue, 255, rng), 0UL, ulong.MaxValue);
        }

        Assert.InRange(policy.NextAttemptAt(Now, 1, rng), Now, DateTimeOffset.MaxValue);
    }

    [Fact]
    public void Next_attempt_at_saturates_instead_of_throwing()
    {
        var policy = Policy(TimeSpan.MaxValue, TimeSpan.MaxValue, 0);

        Assert.Equal(DateTimeOffset.MaxValue, policy.NextAttemptAt(Now, 1, null));
    }

    [Fact]
    public void Jitter_at_the_cap_can_only_shorten_the_delay()
    {
        var policy = Policy(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1), 20);
        var rng = new Random(5);

        for (var i = 0; i < 200; i++)
        {
            Assert.InRange(policy.CalculateBackoff(5, rng), TimeSpan.FromMilliseconds(800), TimeSpan.FromSeconds(1));
        }
    }

    [Fact]
    public void Defaults_follow_documented_schedule()
    {
        var policy = new RetryPolicy(RetrySettings.Default with { BackoffJitterPct = 0 });

        Assert.Equal(TimeSpan.FromSeconds(1), policy.CalculateBackoff(1, null));
        Assert.Equal(TimeSpan.FromSeconds(2048), policy.CalculateBackoff(12, null));
        Assert.Equal(TimeSpan.FromSeconds(3600), policy.CalculateBackoff(13, null));
    }

    [Fact]
    public void Backoff_is_truncated_to_whole_milliseconds()
    {
        var policy = Policy(TimeSpan.FromTicks(19_999), TimeSpan.FromSeconds(1), 0); // 1.9999 ms

        Assert.Equal(TimeSpan.FromMilliseconds(1), policy.CalculateBackoff(1, null));
        Assert.Equal(TimeSpan.FromMilliseconds(2), policy.CalculateBackoff(2, null));
    }

    [Fact]
    public void Settings_defaults_match_crate()
    {
        var settings = RetrySettings.Default;

        Assert.Equal(30, settings.NAttempts);
        Assert.Equal(3, settings.NWarnAttempts);
        Assert.Equal(TimeSpan.FromSeconds(1), settings.MinBackoff);
        Assert.Equal(TimeSpan.FromHours(1), settings.MaxBackoff);
        Assert.Equal(20, settings.BackoffJitterPct);
        Assert.Equal(3, settings.AttemptResetAfterBackoffMultiples);
        Assert.Equal(new RetrySettings(), settings);
    }

    [Fact]
    public void Repeat_indefinitely_only_lifts_the_attempt_limit()
    {
        var settings = RetrySettings.RepeatIndefinitely();

        Assert.Null(settings.NAttempts);
        Assert.Equal(RetrySettings.Default with { NAttempts = null }, settings);
        settings.Validate();
    }

    public static TheoryData<string, RetrySettings> InvalidSettings => new()
    {
        { "NAttempts", RetrySettings.Default with { NAttempts = 0 } },
        { "NAttempts", RetrySettings.Default with { NAttempts = -1 } },
        { "NWarnAttempts", RetrySettings.Default with { NWarnAttempts = -1 } },
        { "MinBackoff", RetrySettings.Default with { MinBackoff = TimeSpan.FromSeconds(-1) } },
        { "MaxBackoff", RetrySettings.Default with { MinBackoff = TimeSpan.Zero, MaxBackoff = TimeSpan.FromSeconds(-1) } },
        { "MinBackoff", RetrySettings.Default with { MinBackoff = TimeSpan.FromHours(2) } },
        { "BackoffJitterPct", RetrySettings.Default with { BackoffJitterPct = -1 } },
        { "BackoffJitterPct", RetrySettings.Default with { BackoffJitterPct = 101 } },
        { "AttemptResetAfterBackoffMultiples", RetrySettings.Default with { AttemptResetAfterBackoffMultiples = -1 } },
    };

    [Theory]
    [MemberData(nameof(InvalidSettings))]
    public void Validate_rejects_out_of_range_settings(string field, RetrySettings settings)
    {
        var error = Assert.ThrowsAny<ArgumentException>(settings.Validate);

        Assert.Equal(field, error.ParamName);
        Assert.Contains(field, error.Message, StringComparison.Ordinal);
        Assert.ThrowsAny<ArgumentException>(() => new RetryPolicy(settings));
    }

    public static TheoryData<RetrySettings> ValidEdgeSettings => new()
    {
        RetrySettings.Default with { NAttempts = 1 },
        RetrySettings.Default with { NWarnAttempts = 0 },
        RetrySettings.Default with { NWarnAttempts = null },
        RetrySettings.Default with { MinBackoff = TimeSpan.Zero, MaxBackoff = TimeSpan.Zero },
        RetrySettings.Default with { MinBackoff = TimeSpan.MaxValue, MaxBackoff = TimeSpan.MaxValue },
        RetrySettings.Default with { BackoffJitterPct = 0 },
        RetrySettings.Default with { BackoffJitterPct = 100 },
        RetrySettings.Default with { AttemptResetAfterBackoffMultiples = 0 },
    };

    [Theory]
    [MemberData(nameof(ValidEdgeSettings))]
    public void Validate_accepts_edge_values(RetrySettings settings)
    {
        settings.Validate();
        _ = new RetryPolicy(settings).CalculateBackoff(3, new Random(1));
    }
}
