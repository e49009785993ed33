using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Job.BenchWorker;

/// <summary>
/// The worker's stdout protocol, one line each: <c>READY key=value …</c> once the silo is up,
/// <c>RUNS key=value …</c> in answer to RUNS (the run counters: an in-memory read, nothing else),
/// <c>STATS {json}</c> in answer to STATS, <c>STOPPED key=value …</c> after a graceful stop.
/// Logs go to stderr, so stdout carries only these lines.
/// </summary>
public static class WorkerProtocol
{
    public const string Ready = "READY";
    public const string Stats = "STATS";
    public const string Stopped = "STOPPED";
    public const string Runs = "RUNS";
    public const string RunsCommand = "RUNS";
    public const string StatsCommand = "STATS";
    public const string StopCommand = "STOP";

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public static string Line(string tag, IEnumerable<(string Key, object? Value)> fields) =>
        tag + " " + string.Join(' ', fields.Select(f => f.Key + "=" + Convert.ToString(f.Value, CultureInfo.InvariantCulture)));

    /// <summary>The key=value pairs of a READY or STOPPED line.</summary>
    public static Dictionary<string, string> Fields(string line)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var part in line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1))
        {
            var eq = part.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0)
            {
                result[part[..eq]] = part[(eq + 1)..];
            }
        }

        return result;
    }
}

/// <summary>A worker's answer to STATS: what it ran and what it holds, read inside the process.</summary>
public sealed record WorkerStats
{
    public int Pid { get; init; }
    public string Silo { get; init; } = "";
    public int RegisteredTypes { get; init; }
    public long NoopRuns { get; init; }
    public long RecordStartRuns { get; init; }
    public long TenantRuns { get; init; }
    /// <summary>UTC wall clock of the first run of any type in this process.</summary>
    public DateTime? FirstRunUtc { get; init; }
    public DateTime? LastRunUtc { get; init; }
    /// <summary>Grain activations on this silo (Orleans' management grain, which counts itself).</summary>
    public long Activations { get; init; }
    public Dictionary<string, long> ActivationsByType { get; init; } = [];
    /// <summary><see cref="System.Threading.Timer.ActiveCount"/>: every live timer of the process (Orleans grain
    /// timers, Task.Delay, CancelAfter, TimeProvider timers, the runtime's own).</summary>
    public long ActiveTimers { get; init; }
    public int Threads { get; init; }
    public double GcHeapMb { get; init; }
    public double RssMb { get; init; }
    public double PeakRssMb { get; init; }
    public double CpuSeconds { get; init; }
}
