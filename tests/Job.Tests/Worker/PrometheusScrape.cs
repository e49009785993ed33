using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Job.Tests.Worker;

/// <summary>One sample of a Prometheus text exposition: the series name, its labels and its value.</summary>
internal sealed record PrometheusSample(string Name, IReadOnlyDictionary<string, string> Labels, double Value)
{
    public string? this[string label] => Labels.GetValueOrDefault(label);
}

/// <summary>Reads the Prometheus text format as an exporter writes it (comments skipped).</summary>
internal static partial class PrometheusScrape
{
    public static IReadOnlyList<PrometheusSample> Parse(string text)
    {
        var samples = new List<PrometheusSample>();
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            var match = Sample().Match(line);
            Assert.True(match.Success, $"not a Prometheus sample line: {line}");
            var labels = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (Match label in Label().Matches(match.Groups["labels"].Value))
            {
                labels[label.Groups["name"].Value] = label.Groups["value"].Value.Replace("\\\"", "\"", StringComparison.Ordinal).Replace("\\\\", "\\", StringComparison.Ordinal);
            }

            var value = match.Groups["value"].Value switch
            {
                "+Inf" => double.PositiveInfinity,
                "-Inf" => double.NegativeInfinity,
                var v => double.Parse(v, CultureInfo.InvariantCulture),
            };
            samples.Add(new PrometheusSample(match.Groups["name"].Value, labels, value));
        }

        return samples;
    }

    [GeneratedRegex("""^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>.*)\})?\s+(?<value>\S+)(\s+\S+)?$""")]
    private static partial Regex Sample();

    [GeneratedRegex(@"(?<name>[a-zA-Z_][a-zA-Z0-9_]*)=""(?<value>(\\.|[^""\\])*)""")]
    private static partial Regex Label();
}

/// <summary>
/// The PromQL queries of a Grafana dashboard (panel targets and template variables) and the metric and
/// label names they use. Label names are those inside selectors (<c>{job_type=~"…"}</c>), in
/// <c>by (…)</c>/<c>without (…)</c> and the second argument of <c>label_values</c>; every other
/// identifier that is no PromQL word is a metric name.
/// </summary>
internal static partial class DashboardQueries
{
    private static readonly HashSet<string> s_promQlWords = new(StringComparer.Ordinal)
    {
        "sum", "max", "min", "avg", "count", "by", "without", "rate", "irate", "increase", "histogram_quantile",
        "label_values", "le", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "offset",
    };

    public static IReadOnlyList<string> Read(string dashboardJson)
    {
        var queries = new List<string>();
        Walk(JsonDocument.Parse(dashboardJson).RootElement, queries);
        return queries;
    }

    public static (IReadOnlySet<string> Metrics, IReadOnlySet<string> Labels) Names(IEnumerable<string> queries)
    {
        var metrics = new SortedSet<string>(StringComparer.Ordinal);
        var labels = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var query in queries)
        {
            var rest = Selector().Replace(query, m =>
            {
                foreach (Match label in SelectorLabel().Matches(m.Value))
                {
                    labels.Add(label.Groups["name"].Value);
                }

                return " ";
            });
            rest = Grouping().Replace(rest, m =>
            {
                foreach (var label in m.Groups["labels"].Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
                {
                    labels.Add(label);
                }

                return " ";
            });
            rest = LabelValues().Replace(rest, m =>
            {
                labels.Add(m.Groups["label"].Value);
                return $" {m.Groups["metric"].Value} ";
            });
            rest = Range().Replace(rest, " ");
            foreach (Match word in Identifier().Matches(rest))
            {
                if (!s_promQlWords.Contains(word.Value) && !word.Value.StartsWith("$", StringComparison.Ordinal))
                {
                    metrics.Add(word.Value);
                }
            }
        }

        labels.Remove("le");
        return (metrics, labels);
    }

    private static void Walk(JsonElement element, List<string> queries)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    if (property.Name is "expr" or "definition" && property.Value.ValueKind == JsonValueKind.String)
                    {
                        queries.Add(property.Value.GetString()!);
                    }
                    else
                    {
                        Walk(property.Value, queries);
                    }
                }

                break;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                {
                    Walk(item, queries);
                }

                break;
        }
    }

    [GeneratedRegex(@"\{[^}]*\}")]
    private static partial Regex Selector();

    [GeneratedRegex("""(?<name>[a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)""")]
    private static partial Regex SelectorLabel();

    [GeneratedRegex(@"\b(by|without)\s*\((?<labels>[^)]*)\)")]
    private static partial Regex Grouping();

    [GeneratedRegex(@"label_values\(\s*(?<metric>[a-zA-Z_:][a-zA-Z0-9_:]*)\s*,\s*(?<label>[a-zA-Z_][a-zA-Z0-9_]*)\s*\)")]
    private static partial Regex LabelValues();

    [GeneratedRegex(@"\[[^\]]*\]")]
    private static partial Regex Range();

    [GeneratedRegex(@"(?<![\w.$])\$?[a-zA-Z_][a-zA-Z0-9_:]*")]
    private static partial Regex Identifier();
}
