namespace Job.Hosting;

/// <summary>
/// The clock of Orleans' membership subsystem, with timestamps counted from this silo's start rather
/// than from the machine's boot. Orleans 10's watchdog starts its platform thread before it sets the
/// component thread's first timestamp; when the platform thread wins that race (a loaded machine), it
/// reads the unset timestamp, 0, and warns that the component check "has not completed" for the
/// machine's whole uptime: a false "deadlock" at start. Counted from the silo's start, an unset
/// timestamp reads as the seconds since start, below the warning's threshold. Every elapsed time is
/// unchanged (the same frequency and the same wall clock), so membership behaves exactly as before.
/// </summary>
internal sealed class SiloStartTimeProvider(TimeProvider inner) : TimeProvider
{
    private readonly long _origin = inner.GetTimestamp();

    public override DateTimeOffset GetUtcNow() => inner.GetUtcNow();

    public override TimeZoneInfo LocalTimeZone => inner.LocalTimeZone;

    public override long TimestampFrequency => inner.TimestampFrequency;

    public override long GetTimestamp() => inner.GetTimestamp() - _origin;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
        inner.CreateTimer(callback, state, dueTime, period);
}
