namespace Job.Scheduling;

/// <summary>
/// The wait after consecutive infrastructure failures (database down): doubling from 100 ms and
/// capped at 10 s, so an outage neither spins a loop nor floods the log (the crate's shift overflowed).
/// </summary>
internal static class ErrorBackoff
{
    private static readonly TimeSpan s_first = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan s_cap = TimeSpan.FromSeconds(10);

    public static TimeSpan After(int failures)
    {
        var exponent = Math.Clamp(failures - 1, 0, 10);
        var delay = s_first * (1 << exponent);
        return delay < s_cap ? delay : s_cap;
    }

    /// <summary>Log the first failure, then only every 10th, so a long outage logs a line a minute or so.</summary>
    public static bool ShouldLog(int failures) => failures <= 1 || failures % 10 == 0;
}
