using Job.Clock;

namespace Job.Execution;

/// <summary>
/// The arithmetic half of <see cref="RetrySettings"/>: how long to wait after a failure and
/// whether a job has been healthy long enough to forget its earlier failures (crate §4.3, §4.4).
/// All delays are whole milliseconds, like the crate. The arithmetic is done in 128 bits so
/// that no input, including <c>MaxBackoff = TimeSpan.MaxValue</c>, can overflow (crate bug
/// fixed in 0.7.3, not ported).
/// </summary>
internal sealed class RetryPolicy
{
    private const int MaxExponent = 30;

    private readonly ulong _minMs;
    private readonly ulong _maxMs;

    public RetryPolicy(RetrySettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        Settings = settings;
        _minMs = (ulong)(settings.MinBackoff.Ticks / TimeSpan.TicksPerMillisecond);
        _maxMs = (ulong)(settings.MaxBackoff.Ticks / TimeSpan.TicksPerMillisecond);
    }

    public RetrySettings Settings { get; }

    /// <summary>
    /// Delay after <paramref name="attempt"/> (the attempt that just failed, after any reset)
    /// failed: <c>min(min·2^min(attempt−1, 30), max)</c> ± jitter, clamped to [0, max].
    /// </summary>
    /// <param name="attempt">Values below 1 behave like 1.</param>
    /// <param name="rng">Source of jitter; <see langword="null"/> uses <see cref="Random.Shared"/>.</param>
    public TimeSpan CalculateBackoff(int attempt, Random? rng = null)
        => TimeSpan.FromTicks((long)CalculateBackoffMs(attempt, rng) * TimeSpan.TicksPerMillisecond);

    /// <summary>The backoff in whole milliseconds; never exceeds <c>MaxBackoff</c>.</summary>
    public ulong CalculateBackoffMs(int attempt, Random? rng = null)
    {
        var exponent = Math.Min(Math.Max(attempt - 1L, 0L), MaxExponent);
        UInt128 scaled = (UInt128)_minMs << (int)exponent;
        var backoff = (ulong)UInt128.Min(scaled, _maxMs);

        var pct = Settings.BackoffJitterPct;
        if (pct == 0)
        {
            return backoff;
        }

        return ApplyJitter(backoff, _maxMs, pct, rng ?? Random.Shared);
    }

    /// <summary>Jitter of ± <paramref name="pct"/>% around <paramref name="backoffMs"/>, clamped to [0, max].</summary>
    internal static ulong ApplyJitter(ulong backoffMs, ulong maxMs, int pct, Random rng)
    {
        // Settings keep backoff ≤ max ≤ TimeSpan.MaxValue in ms (< 2^50) and pct ≤ 100, so j fits a
        // long; the 128-bit math and the clamp keep even out-of-range direct calls from overflowing.
        var jitter = (UInt128)backoffMs * (uint)Math.Max(pct, 0) / 100u;
        var j = (long)UInt128.Min(jitter, (UInt128)(long.MaxValue - 1));
        var delta = rng.NextInt64(-j, j + 1);
        var jittered = (Int128)backoffMs + delta;
        if (jittered < 0)
        {
            return 0;
        }

        return (ulong)Int128.Min(jittered, (Int128)maxMs);
    }

    /// <summary>
    /// Time at which the next attempt should run, saturating at <see cref="DateTimeOffset.MaxValue"/>
    /// rather than throwing when a huge backoff meets a late clock.
    /// </summary>
    public DateTimeOffset NextAttemptAt(DateTimeOffset now, int attempt, Random? rng = null)
        => TimeArithmetic.SaturatingAdd(now, CalculateBackoff(attempt, rng));

    /// <summary>
    /// True when the run that followed the retry described by <paramref name="window"/> has been
    /// going for more than <c>AttemptResetAfterBackoffMultiples</c> times the backoff before it: the
    /// job was healthy again and deserves a fresh attempt budget (the crate's rule). The time counts
    /// from when the run started (<paramref name="runStartedAt"/>), not from when it was due: a retry
    /// that merely waited to start (a backlog, a rescue, a stopped cluster) was not healthy, and
    /// resetting then would let a job fail forever. Without <paramref name="runStartedAt"/> the run is
    /// taken to have started when it was due, as in the crate.
    /// </summary>
    public bool ShouldResetAttemptCount(DateTimeOffset now, RetryWindow window, DateTimeOffset? runStartedAt = null)
    {
        var started = runStartedAt is { } at && at > window.RetryScheduledAt ? at : window.RetryScheduledAt;
        if (now < started)
        {
            return false;
        }

        var elapsed = now - started;
        var threshold = (Int128)window.Backoff.Ticks * Settings.AttemptResetAfterBackoffMultiples;
        return elapsed.Ticks > threshold;
    }

}
