namespace Job;

/// <summary>
/// <see cref="Starts"/> runs of a job type start per <see cref="Period"/>, across the whole
/// cluster, on average: a token bucket in the database that holds up to <see cref="Starts"/> tokens and
/// refills evenly over the period, so a burst of up to <see cref="Starts"/> may start at once after a
/// quiet spell, and any one window of <see cref="Period"/> may see up to twice <see cref="Starts"/>. For
/// what a job calls that counts requests (an external API's quota of Q per window, say: give Q / 2).
/// </summary>
public sealed record JobRateLimit
{
    /// <summary>The longest period a rate can be given over.</summary>
    public static readonly TimeSpan MaxPeriod = TimeSpan.FromDays(366);

    /// <summary>The most starts a rate can allow per period.</summary>
    public const int MaxStarts = 1_000_000;

    /// <summary>A rate of <paramref name="starts"/> per <paramref name="period"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Starts outside 1..<see cref="MaxStarts"/>, or a period
    /// outside one second..<see cref="MaxPeriod"/>.</exception>
    public JobRateLimit(int starts, TimeSpan period)
    {
        if (starts is < 1 or > MaxStarts)
        {
            throw new ArgumentOutOfRangeException(nameof(starts), starts, $"A rate limit allows 1 to {MaxStarts:N0} starts per period.");
        }

        if (period < TimeSpan.FromSeconds(1) || period > MaxPeriod)
        {
            throw new ArgumentOutOfRangeException(nameof(period), period, $"A rate limit's period is one second to {MaxPeriod.TotalDays:0} days.");
        }

        Starts = starts;
        Period = period;
    }

    /// <summary>Runs allowed to start per <see cref="Period"/>.</summary>
    public int Starts { get; }

    /// <summary>The period the starts are counted over.</summary>
    public TimeSpan Period { get; }

    /// <inheritdoc />
    public override string ToString() => $"{Starts} per {Period}";
}
