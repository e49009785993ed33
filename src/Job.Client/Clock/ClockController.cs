using Job.Clock;

namespace Job;

/// <summary>
/// Moves an artificial clock, so tests can cover minutes, days or retries spaced an hour
/// apart in milliseconds of real time and in a deterministic order. Obtained from
/// <see cref="ClockHandle.Artificial"/>; safe to use from any thread.
/// </summary>
public sealed class ClockController
{
    private readonly ArtificialTimeProvider _provider;

    internal ClockController(ArtificialTimeProvider provider) => _provider = provider;

    /// <summary>The artificial time, the same reading the clock gives.</summary>
    public DateTimeOffset Now => _provider.GetUtcNow();

    /// <summary>Sleepers (timers, delays, timeouts) waiting on the clock; lets a test wait until the code under test is parked.</summary>
    public int PendingWakeCount => _provider.PendingWakeCount;

    /// <summary>
    /// Moves time forward by <paramref name="by"/>, processing every wake due in that span in
    /// chronological order: the clock reads each wake's due time while it fires, and the
    /// controller yields once per wake so the woken code can run (and schedule new wakes, which
    /// are processed too if they fall inside the span). Ends with the clock at start + <paramref name="by"/>.
    /// </summary>
    /// <returns>The number of wakes processed.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="by"/> is negative.</exception>
    public Task<int> AdvanceAsync(TimeSpan by) => _provider.AdvanceAsync(by);

    /// <summary>Moves time exactly to the earliest pending wake and processes the wakes due then.</summary>
    /// <returns><see langword="false"/> when nothing was waiting (time unchanged).</returns>
    public Task<bool> AdvanceToNextWakeAsync() => _provider.AdvanceToNextWakeAsync();

    /// <summary>
    /// Jumps straight to <paramref name="time"/> (forwards or backwards) and fires whatever is
    /// due then, without the ordering guarantees of <see cref="AdvanceAsync"/>; a periodic timer
    /// fires once rather than catching up.
    /// </summary>
    public void SetTime(DateTimeOffset time) => _provider.SetTime(time);
}
