namespace Job.Common;

/// <summary>
/// A run of consecutive infrastructure failures (database down) and what to do about it: wait
/// doubling from 100 ms, capped at 10 s, so an outage neither spins a loop nor floods the log
/// (the crate's shift overflowed); log the first failure and then every 10th only.
/// </summary>
internal sealed class FailureStreak
{
    private static readonly TimeSpan s_first = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan s_cap = TimeSpan.FromSeconds(10);

    /// <summary>Failures in a row.</summary>
    public int Count { get; private set; }

    /// <summary>How long to wait before the next try.</summary>
    public TimeSpan Delay
    {
        get
        {
            var delay = s_first * (1 << Math.Clamp(Count - 1, 0, 10));
            return delay < s_cap ? delay : s_cap;
        }
    }

    /// <summary>Waits <see cref="Delay"/>; false when <paramref name="ct"/> cut the wait short (stopping).</summary>
    public async Task<bool> BackOffAsync(CancellationToken ct)
    {
        try
        {
            await Task.Delay(Delay, ct).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>Counts a failure; true when this one should be logged.</summary>
    public bool Fail()
    {
        Count++;
        return Count == 1 || Count % 10 == 0;
    }

    /// <summary>Ends the streak after a success; true when there was one to end.</summary>
    public bool Reset()
    {
        var had = Count > 0;
        Count = 0;
        return had;
    }
}
