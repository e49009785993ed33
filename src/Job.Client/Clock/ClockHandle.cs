using Job.Clock;

namespace Job;

/// <summary>
/// The application clock every time-dependent decision of the job runner reads (spawn and
/// schedule times, claiming, backoff, reschedule), as in the crate's <c>ClockHandle</c>.
/// Built on <see cref="System.TimeProvider"/> so that the same code runs on real time in
/// production and on an artificial clock in tests.
/// </summary>
public sealed class ClockHandle
{
    /// <summary>Longest single timer wait; <see cref="Task.Delay(TimeSpan, TimeProvider, CancellationToken)"/> rejects ~49.7 days and more.</summary>
    private static readonly TimeSpan MaxSingleDelay = TimeSpan.FromDays(30);

    private static readonly ClockHandle RealtimeInstance = new(TimeProvider.System);

    private ClockHandle(TimeProvider timeProvider) => TimeProvider = timeProvider;

    /// <summary>The provider behind this clock, for APIs that take a <see cref="System.TimeProvider"/> directly.</summary>
    public TimeProvider TimeProvider { get; }

    /// <summary>Current time of this clock (UTC).</summary>
    public DateTimeOffset Now => TimeProvider.GetUtcNow();

    /// <summary>True for clocks created by <see cref="Artificial"/>, where time is not wall-clock time.</summary>
    public bool IsArtificial => TimeProvider is ArtificialTimeProvider;

    /// <summary>The wall clock: what production uses.</summary>
    public static ClockHandle Realtime() => RealtimeInstance;

    /// <summary>
    /// A clock whose time is controlled by the returned controller (manual) or runs at a
    /// multiple of real time (auto), for tests of scheduling and retries.
    /// </summary>
    public static (ClockHandle Clock, ClockController Controller) Artificial(ArtificialClockConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var provider = new ArtificialTimeProvider(config);
        return (new ClockHandle(provider), new ClockController(provider));
    }

    /// <summary>Wraps any provider (for example a test library's fake) for code that expects a <see cref="ClockHandle"/>.</summary>
    public static ClockHandle FromTimeProvider(TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(timeProvider);
        return ReferenceEquals(timeProvider, TimeProvider.System) ? RealtimeInstance : new ClockHandle(timeProvider);
    }

    /// <summary>
    /// Waits <paramref name="delay"/> on this clock (so an artificial clock must be advanced).
    /// A negative delay completes at once, because callers typically pass <c>due − now</c>.
    /// </summary>
    public Task Delay(TimeSpan delay, CancellationToken cancellationToken = default)
    {
        if (delay <= TimeSpan.Zero)
        {
            return cancellationToken.IsCancellationRequested
                ? Task.FromCanceled(cancellationToken)
                : Task.CompletedTask;
        }

        return delay <= MaxSingleDelay
            ? Task.Delay(delay, TimeProvider, cancellationToken)
            : DelayUntil(TimeArithmetic.SaturatingAdd(Now, delay), cancellationToken);
    }

    /// <summary>
    /// The runtime's sleep: returns when any of <paramref name="signals"/> completes, this clock
    /// reads <paramref name="due"/> (if given), or <paramref name="realTimeLimit"/> passes on real
    /// time (if given), whichever comes first; the timers it started are stopped on return.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    internal async Task WaitAnyAsync(DateTimeOffset? due, TimeSpan? realTimeLimit, CancellationToken cancellationToken, params Task[] signals)
    {
        using var timers = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var waits = new List<Task>(signals.Length + 2);
        waits.AddRange(signals);
        if (due is { } at)
        {
            waits.Add(DelayUntil(at, timers.Token));
        }

        if (realTimeLimit is { } limit)
        {
            waits.Add(Task.Delay(limit, timers.Token));
        }

        try
        {
            await Task.WhenAny(waits).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await timers.CancelAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Waits until this clock reads at least <paramref name="due"/>. On real time it re-checks after
    /// each wake, so it stays correct when a timer fires early, and splits waits longer than a timer
    /// can express; an artificial clock registers the wake at <paramref name="due"/> itself, so an
    /// advance racing the wait can neither strand it nor make it early.
    /// </summary>
    public async Task DelayUntil(DateTimeOffset due, CancellationToken cancellationToken = default)
    {
        if (TimeProvider is ArtificialTimeProvider artificial)
        {
            await artificial.DelayUntilAsync(due, cancellationToken).ConfigureAwait(false);
            return;
        }

        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var remaining = due - Now;
            if (remaining <= TimeSpan.Zero)
            {
                return;
            }

            // Round up to whole milliseconds: timers truncate, which would spin on sub-ms remainders.
            var ticks = remaining.Ticks;
            var roundedUp = ticks % TimeSpan.TicksPerMillisecond == 0
                ? remaining
                : TimeSpan.FromTicks(ticks - (ticks % TimeSpan.TicksPerMillisecond) + TimeSpan.TicksPerMillisecond);
            var wait = roundedUp < MaxSingleDelay ? roundedUp : MaxSingleDelay;
            await Task.Delay(wait, TimeProvider, cancellationToken).ConfigureAwait(false);
        }
    }

}
