using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;

namespace Job.Dashboard;

/// <summary>Builds HTML with every value encoded: pages are strings, so nothing user-supplied (a job's
/// config, an error message, a query) can become markup.</summary>
internal sealed class Html
{
    private readonly StringBuilder _sb = new(8192);

    /// <summary>Appends trusted markup (literals of this assembly).</summary>
    public Html Raw(string markup)
    {
        _sb.Append(markup);
        return this;
    }

    /// <summary>Appends text, encoded.</summary>
    public Html Text(string? text)
    {
        _sb.Append(HtmlEncoder.Default.Encode(text ?? ""));
        return this;
    }

    /// <summary>Appends an attribute value, encoded (quotes included).</summary>
    public Html Attr(string? value) => Text(value);

    public Html Num(long n) => Raw(n.ToString("N0", CultureInfo.InvariantCulture));

    public override string ToString() => _sb.ToString();

    public static string Encode(string? text) => HtmlEncoder.Default.Encode(text ?? "");

    public static string Url(string? value) => UrlEncoder.Default.Encode(value ?? "");

    public static string Time(DateTimeOffset? at) =>
        at is { } t ? t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture) : "—";

    /// <summary>Appends a time as UTC with how long ago (or how soon) it is, "2026-12-01 03:12:09Z (4 min
    /// ago)": someone woken at night reads the age first; the time is what the logs show.</summary>
    public Html When(DateTimeOffset? at, DateTimeOffset now)
    {
        if (at is not { } t)
        {
            return Raw("—");
        }

        return Raw("<time datetime=\"").Raw(t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture)).Raw("\">").Text(Time(t))
            .Raw("</time> <span class=\"ago\">(").Text(Relative(t, now)).Raw(")</span>");
    }

    /// <summary>How far <paramref name="at"/> is from <paramref name="now"/>, in whole units: "12 s ago",
    /// "in 3 min", "5 h ago", "2 d ago"; "now" within a second.</summary>
    public static string Relative(DateTimeOffset at, DateTimeOffset now)
    {
        var span = (now - at).Duration();
        var text = span.TotalSeconds switch
        {
            < 1 => null,
            < 120 => $"{(int)span.TotalSeconds} s",
            < 7200 => $"{(int)span.TotalMinutes} min",
            < 172800 => $"{(int)span.TotalHours} h",
            _ => $"{(int)span.TotalDays} d",
        };
        return text is null ? "now" : at <= now ? text + " ago" : "in " + text;
    }

    public static string Duration(TimeSpan span) => span.TotalSeconds switch
    {
        < 1 => $"{span.TotalMilliseconds:0} ms",
        < 120 => $"{span.TotalSeconds:0.#} s",
        < 7200 => $"{span.TotalMinutes:0.#} min",
        < 172800 => $"{span.TotalHours:0.#} h",
        _ => $"{span.TotalDays:0.#} d",
    };
}
