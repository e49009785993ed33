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

    public static string Duration(TimeSpan span) => span.TotalSeconds switch
    {
        < 1 => $"{span.TotalMilliseconds:0} ms",
        < 120 => $"{span.TotalSeconds:0.#} s",
        < 7200 => $"{span.TotalMinutes:0.#} min",
        < 172800 => $"{span.TotalHours:0.#} h",
        _ => $"{span.TotalDays:0.#} d",
    };
}
