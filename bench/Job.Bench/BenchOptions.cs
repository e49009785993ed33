using System.Globalization;

namespace Job.Bench;

/// <summary>The command line: <c>[--quick] [--workload name[,name…]] [--jobs N] [--poller max:min[,max:min…]]
/// [--ceiling workers:batch[,…]] [--scale-future N] [--second-silo-process] [--out file]</c>.</summary>
public sealed record BenchOptions
{
    public static readonly string[] AllWorkloads = ["throughput", "latency", "schedule", "scale", "ceiling"];

    public bool Quick { get; init; }
    public IReadOnlySet<string> Workloads { get; init; } = new HashSet<string>(AllWorkloads, StringComparer.OrdinalIgnoreCase);
    /// <summary>Jobs per throughput and ceiling run.</summary>
    public int Jobs { get; init; } = 50_000;
    public int SpawnBatch { get; init; } = 1000;
    /// <summary>Poller settings tried by the throughput workload (the first is the default elsewhere).</summary>
    public IReadOnlyList<(int Max, int Min)> PollerConfigs { get; init; } = [(200, 100), (500, 250), (1000, 500), (2000, 1000)];
    public IReadOnlyList<(int Workers, int Batch)> CeilingConfigs { get; init; } = [(4, 100), (8, 200), (4, 500)];
    public int LatencySamples { get; init; } = 500;
    public int ScheduleJobs { get; init; } = 200;
    public int ScaleFuture { get; init; } = 1_000_000;
    public int ScaleDue { get; init; } = 10_000;
    /// <summary>Runs the second silo of the two-silo throughput runs as a separate OS process.</summary>
    public bool SecondSiloProcess { get; init; }
    /// <summary>Adds a profiled run (SQL timings, claim sizes) to the throughput workload.</summary>
    public bool Profile { get; init; } = true;
    public string? Output { get; init; }

    public JobPollerConfig DefaultPoller => Poller(PollerConfigs[0]);

    public static JobPollerConfig Poller((int Max, int Min) c) => new() { MaxJobsPerProcess = c.Max, MinJobsPerProcess = c.Min };

    /// <exception cref="ArgumentException">An unknown or malformed argument.</exception>
    public static BenchOptions Parse(IReadOnlyList<string> args)
    {
        var quick = args.Contains("--quick");
        var o = quick
            ? new BenchOptions
            {
                Quick = true,
                Jobs = 2000,
                PollerConfigs = [(200, 100)],
                CeilingConfigs = [(4, 100)],
                LatencySamples = 50,
                ScheduleJobs = 50,
                ScaleFuture = 20_000,
                ScaleDue = 2000,
            }
            : new BenchOptions();

        for (var i = 0; i < args.Count; i++)
        {
            string Next() => i + 1 < args.Count ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
            o = args[i] switch
            {
                "--quick" => o,
                "--workload" or "--workloads" => o with { Workloads = ParseWorkloads(Next()) },
                "--jobs" => o with { Jobs = Int(Next()) },
                "--poller" => o with { PollerConfigs = Pairs(Next()) },
                "--ceiling" => o with { CeilingConfigs = Pairs(Next()) },
                "--latency-samples" => o with { LatencySamples = Int(Next()) },
                "--scale-future" => o with { ScaleFuture = Int(Next()) },
                "--scale-due" => o with { ScaleDue = Int(Next()) },
                "--second-silo-process" => o with { SecondSiloProcess = true },
                "--no-profile" => o with { Profile = false },
                "--out" => o with { Output = Next() },
                _ => throw new ArgumentException($"Unknown argument '{args[i]}'. " + Usage),
            };
        }

        return o;
    }

    public const string Usage =
        "Usage: dotnet run -c Release --project bench/Job.Bench -- [--quick] [--workload throughput,latency,schedule,scale,ceiling] " +
        "[--jobs N] [--poller max:min,…] [--ceiling workers:batch,…] [--latency-samples N] [--scale-future N] [--scale-due N] " +
        "[--second-silo-process] [--no-profile] [--out file.md]";

    private static HashSet<string> ParseWorkloads(string value)
    {
        var set = new HashSet<string>(value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), StringComparer.OrdinalIgnoreCase);
        var unknown = set.Except(AllWorkloads, StringComparer.OrdinalIgnoreCase).ToList();
        return unknown.Count == 0 ? set : throw new ArgumentException($"Unknown workload(s) {string.Join(", ", unknown)}; known: {string.Join(", ", AllWorkloads)}.");
    }

    private static int Int(string s) =>
        int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n > 0 ? n : throw new ArgumentException($"'{s}' is not a positive integer.");

    private static List<(int, int)> Pairs(string s) =>
        s.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(p =>
        {
            var parts = p.Split(':');
            return parts.Length == 2 ? (Int(parts[0]), Int(parts[1])) : throw new ArgumentException($"'{p}' is not a:b.");
        }).ToList();
}
