using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Job.Bench.Reporting;

/// <summary>One line of the results table. <see cref="Target"/> is for reference only: never asserted.</summary>
public sealed record ReportRow(string Workload, string Key, string Metric, double Value, string Unit, string Target = "", bool Integer = false);

/// <summary>What one workload measured: table rows, a JSON object, notes and profile lines.</summary>
public sealed class WorkloadResult(string workload)
{
    private readonly List<ReportRow> _rows = [];
    private readonly Dictionary<string, object?> _json = new(StringComparer.Ordinal);
    private readonly List<string> _notes = [];

    public string Workload { get; } = workload;

    public IReadOnlyList<ReportRow> Rows => _rows;

    public IReadOnlyDictionary<string, object?> Json => _json;

    public IReadOnlyList<string> Notes => _notes;

    public string? Failure { get; private set; }

    /// <summary>Adds a table row (<paramref name="label"/>) and the same value to the JSON line (<paramref name="key"/>).</summary>
    public WorkloadResult Metric(string key, string label, double value, string unit, string target = "")
    {
        _rows.Add(new ReportRow(Workload, key, label, value, unit, target));
        _json[key] = Math.Round(value, 3);
        return this;
    }

    /// <summary>Adds a table row for a count (shown without decimals) and the same value to the JSON line.</summary>
    public WorkloadResult Count(string key, string label, long value, string unit = "")
    {
        _rows.Add(new ReportRow(Workload, key, label, value, unit, Integer: true));
        _json[key] = value;
        return this;
    }

    /// <summary>Adds a value to the JSON line only.</summary>
    public WorkloadResult Data(string key, object? value)
    {
        _json[key] = value;
        return this;
    }

    public WorkloadResult Note(string text)
    {
        _notes.Add(text);
        return this;
    }

    public void Fail(string message) => Failure = message;
}

/// <summary>The whole run: header facts, every workload's result; renders markdown and JSON lines.</summary>
public sealed class Report
{
    private static readonly JsonSerializerOptions s_json = new() { WriteIndented = false, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private readonly List<WorkloadResult> _results = [];

    public required IReadOnlyDictionary<string, string> Environment { get; init; }

    public IReadOnlyList<WorkloadResult> Results => _results;

    public bool Failed => _results.Any(r => r.Failure is not null);

    public void Add(WorkloadResult result) => _results.Add(result);

    public string JsonLine(WorkloadResult result)
    {
        var obj = new Dictionary<string, object?>(StringComparer.Ordinal) { ["workload"] = result.Workload, ["ok"] = result.Failure is null };
        if (result.Failure is not null)
        {
            obj["failure"] = result.Failure;
        }

        foreach (var (key, value) in result.Json)
        {
            obj[key] = value;
        }

        return "BENCH_JSON " + JsonSerializer.Serialize(obj, s_json);
    }

    public string Markdown()
    {
        var sb = new StringBuilder();
        sb.AppendLine("# Job benchmark results").AppendLine();
        foreach (var (key, value) in Environment)
        {
            sb.Append("- **").Append(key).Append("**: ").AppendLine(value);
        }

        sb.AppendLine().AppendLine("| workload | metric | value | target |").AppendLine("|---|---|---:|---|");
        foreach (var row in _results.SelectMany(r => r.Rows))
        {
            sb.Append("| ").Append(row.Workload).Append(" | ").Append(row.Metric).Append(" | ")
              .Append(row.Integer ? row.Value.ToString("N0", CultureInfo.InvariantCulture) : Format(row.Value)).Append(' ').Append(row.Unit)
              .Append(" | ").Append(row.Target).AppendLine(" |");
        }

        foreach (var result in _results.Where(r => r.Failure is not null))
        {
            sb.AppendLine().Append("**FAILED** ").Append(result.Workload).Append(": ").AppendLine(result.Failure);
        }

        var notes = _results.Where(r => r.Notes.Count > 0).ToList();
        if (notes.Count > 0)
        {
            sb.AppendLine().AppendLine("## Notes and profile").AppendLine();
            foreach (var result in notes)
            {
                sb.Append("### ").AppendLine(result.Workload).AppendLine();
                foreach (var note in result.Notes)
                {
                    sb.Append("- ").AppendLine(note);
                }

                sb.AppendLine();
            }
        }

        return sb.ToString();
    }

    public static string Format(double value) => Math.Abs(value) switch
    {
        >= 1000 => value.ToString("N0", CultureInfo.InvariantCulture),
        >= 100 => value.ToString("0.0", CultureInfo.InvariantCulture),
        _ => value.ToString("0.00", CultureInfo.InvariantCulture),
    };
}
