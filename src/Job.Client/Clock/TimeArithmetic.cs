namespace Job.Clock;

/// <summary>Date arithmetic that cannot overflow, shared by the clocks, the retry policy and
/// reschedules: a huge delay means "as late as a date can be", never an exception.</summary>
internal static class TimeArithmetic
{
    /// <summary><paramref name="at"/> plus a non-negative <paramref name="by"/>, saturating at
    /// <see cref="DateTimeOffset.MaxValue"/> (in <paramref name="at"/>'s offset).</summary>
    public static DateTimeOffset SaturatingAdd(DateTimeOffset at, TimeSpan by)
    {
        var headroom = DateTimeOffset.MaxValue.UtcTicks - at.UtcTicks;
        return by.Ticks >= headroom ? DateTimeOffset.MaxValue.ToOffset(at.Offset) : at + by;
    }
}
