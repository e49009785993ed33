using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Cronos;

namespace Job.Scheduling;

/// <summary>
/// A parsed cron expression in its time zone: Cronos does the arithmetic (five or six fields, macros,
/// daylight saving), this class the validation and the questions the ticker asks. Immutable and
/// thread-safe; parsed forms are cached by (name, expression, zone), since the ticker asks often.
/// </summary>
internal sealed partial class CronSchedule
{
    /// <summary>The longest expression accepted.</summary>
    public const int MaxExpressionLength = 200;

    /// <summary>The longest time zone id accepted.</summary>
    public const int MaxTimeZoneLength = 100;

    private static readonly ConcurrentDictionary<(string Name, string Cron, string Zone), CronSchedule> s_cache = new();

    private readonly CronExpression _expression;

    private CronSchedule(CronExpression expression, TimeZoneInfo zone)
    {
        _expression = expression;
        Zone = zone;
    }

    public TimeZoneInfo Zone { get; }

    /// <summary>Parses and checks <paramref name="cron"/> in <paramref name="timeZone"/> for the schedule
    /// <paramref name="name"/> (whose hash seeds <c>H</c>).</summary>
    /// <exception cref="InvalidCronExpressionException">Cronos cannot read it, or it never fires.</exception>
    /// <exception cref="UnknownTimeZoneException">The zone is unknown here.</exception>
    public static CronSchedule Parse(string name, string cron, string timeZone)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (s_cache.TryGetValue((name, cron, timeZone), out var cached))
        {
            return cached;
        }

        var parsed = new CronSchedule(ParseExpression(name, cron), FindZone(timeZone));
        if (parsed.NextAfter(DateTimeOffset.UtcNow) is null)
        {
            throw new InvalidCronExpressionException(cron, "it never fires (no date matches it)");
        }

        if (s_cache.Count > 10_000)
        {
            s_cache.Clear();
        }

        return s_cache[(name, cron, timeZone)] = parsed;
    }

    /// <summary>The first tick strictly after <paramref name="after"/>, in UTC; null when none is left.</summary>
    public DateTimeOffset? NextAfter(DateTimeOffset after) =>
        _expression.GetNextOccurrence(after, Zone, inclusive: false)?.ToUniversalTime();

    /// <summary>The ticks from <paramref name="from"/> (inclusive) to <paramref name="to"/> (inclusive), oldest first.</summary>
    public IEnumerable<DateTimeOffset> Between(DateTimeOffset from, DateTimeOffset to) =>
        from > to ? [] : _expression.GetOccurrences(from, to, Zone, fromInclusive: true, toInclusive: true).Select(t => t.ToUniversalTime());

    /// <summary>The ticks before <paramref name="before"/> (exclusive) and not before <paramref name="notBefore"/>
    /// (inclusive), newest first.</summary>
    public IEnumerable<DateTimeOffset> LatestBefore(DateTimeOffset before, DateTimeOffset notBefore) =>
        notBefore >= before ? [] : _expression.GetOccurrencesDescending(before, notBefore, Zone, fromInclusive: false, toInclusive: true).Select(t => t.ToUniversalTime());

    private static CronExpression ParseExpression(string name, string? cron)
    {
        if (string.IsNullOrWhiteSpace(cron))
        {
            throw new InvalidCronExpressionException(cron, "it is empty");
        }

        if (cron.Length > MaxExpressionLength)
        {
            throw new InvalidCronExpressionException(cron[..40] + "…", $"it is {cron.Length} characters long, more than {MaxExpressionLength}");
        }

        var fields = cron.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Length;
        if (fields is not (1 or 5 or 6))
        {
            throw new InvalidCronExpressionException(cron, $"it has {fields} fields");
        }

        if (fields == 1 && !cron.TrimStart().StartsWith('@'))
        {
            throw new InvalidCronExpressionException(cron, "it is one field, and not a macro"); // Cronos would complain about its minutes
        }

        try
        {
            var format = fields == 6 ? CronFormat.IncludeSeconds : CronFormat.Standard;
            return Jitter().IsMatch(cron)
                ? CronExpression.Parse(cron.Trim(), format, Seed(name))
                : CronExpression.Parse(cron.Trim(), format);
        }
        catch (CronFormatException ex)
        {
            throw new InvalidCronExpressionException(cron, ex.Message.TrimEnd('.'), ex);
        }
    }

    private static TimeZoneInfo FindZone(string? timeZone)
    {
        if (string.IsNullOrWhiteSpace(timeZone) || timeZone.Length > MaxTimeZoneLength)
        {
            throw new UnknownTimeZoneException(timeZone);
        }

        try
        {
            return TimeZoneInfo.FindSystemTimeZoneById(timeZone);
        }
        catch (Exception ex) when (ex is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            throw new UnknownTimeZoneException(timeZone, ex);
        }
    }

    // An H field (H, H(0-29), H/15), not the H of THU.
    [System.Text.RegularExpressions.GeneratedRegex("(?<![A-Za-z])H(?![A-Za-z])", System.Text.RegularExpressions.RegexOptions.IgnoreCase | System.Text.RegularExpressions.RegexOptions.CultureInvariant)]
    private static partial System.Text.RegularExpressions.Regex Jitter();

    // H in an expression picks a value from this seed: the same for a name on every silo and every run.
    private static int Seed(string name) => BitConverter.ToInt32(SHA256.HashData(Encoding.UTF8.GetBytes(name)), 0) & int.MaxValue;
}
