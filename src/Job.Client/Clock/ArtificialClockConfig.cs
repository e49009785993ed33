namespace Job;

/// <summary>How an artificial clock moves: only when told to, or on its own at a multiple of real time.</summary>
public enum ArtificialClockMode
{
    /// <summary>Time stands still until the <see cref="ClockController"/> moves it, for fully deterministic tests.</summary>
    Manual,

    /// <summary>Time runs <see cref="ArtificialClockConfig.TimeScale"/> times faster than real time, for soak tests and demos.</summary>
    AutoAdvance,
}

/// <summary>
/// Settings for <see cref="ClockHandle.Artificial"/>, mirroring the crate's
/// <c>ArtificialClockConfig</c>. The start time is truncated to whole milliseconds so that
/// values written to and read back from the database compare equal.
/// </summary>
public sealed record ArtificialClockConfig
{
    private ArtificialClockConfig(ArtificialClockMode mode, DateTimeOffset startAt, double timeScale)
    {
        Mode = mode;
        StartAt = TruncateToMilliseconds(startAt);
        TimeScale = timeScale;
    }

    /// <summary>Whether time moves only on request or on its own.</summary>
    public ArtificialClockMode Mode { get; }

    /// <summary>The clock's initial reading (UTC, whole milliseconds).</summary>
    public DateTimeOffset StartAt { get; }

    /// <summary>Artificial seconds per real second in <see cref="ArtificialClockMode.AutoAdvance"/>; 0 for manual clocks.</summary>
    public double TimeScale { get; }

    /// <summary>A clock frozen at the current real time until advanced.</summary>
    public static ArtificialClockConfig Manual() => ManualAt(DateTimeOffset.UtcNow);

    /// <summary>A clock frozen at <paramref name="startAt"/>, for tests that need a known calendar date.</summary>
    public static ArtificialClockConfig ManualAt(DateTimeOffset startAt)
        => new(ArtificialClockMode.Manual, startAt, 0d);

    /// <summary>A clock starting now and running <paramref name="timeScale"/> times faster than real time.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeScale"/> is not a positive finite number.</exception>
    public static ArtificialClockConfig Auto(double timeScale) => AutoAt(DateTimeOffset.UtcNow, timeScale);

    /// <summary>A clock starting at <paramref name="startAt"/> and running <paramref name="timeScale"/> times faster than real time.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeScale"/> is not a positive finite number.</exception>
    public static ArtificialClockConfig AutoAt(DateTimeOffset startAt, double timeScale)
    {
        if (!double.IsFinite(timeScale) || timeScale <= 0)
        {
            throw new ArgumentOutOfRangeException(
                nameof(timeScale), timeScale, "An auto-advancing clock needs a positive, finite time scale.");
        }

        return new(ArtificialClockMode.AutoAdvance, startAt, timeScale);
    }

    private static DateTimeOffset TruncateToMilliseconds(DateTimeOffset value)
    {
        var utcTicks = value.UtcTicks;
        return new DateTimeOffset(utcTicks - (utcTicks % TimeSpan.TicksPerMillisecond), TimeSpan.Zero);
    }
}
