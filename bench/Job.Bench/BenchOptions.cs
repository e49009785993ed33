using System.Globalization;

namespace Job.Bench;

/// <summary>The command line: see <see cref="Usage"/>.</summary>
public sealed record BenchOptions
{
    public static readonly string[] AllWorkloads = ["throughput", "latency", "schedule", "scale", "ceiling", "deployed", "tenants", "firstspawn", "limits", "dashboard", "startfloor"];

    public bool Quick { get; init; }
    public IReadOnlySet<string> Workloads { get; init; } = new HashSet<string>(AllWorkloads, StringComparer.OrdinalIgnoreCase);
    /// <summary>Jobs per throughput and ceiling run.</summary>
    public int Jobs { get; init; } = 50_000;
    public int SpawnBatch { get; init; } = 1000;

    /// <summary>Dashboard workload: finished and pending jobs inserted for the page timings, and jobs per
    /// throughput run of the overhead pairs.</summary>
    public int DashboardFinished { get; init; } = 1_000_000;

    public int DashboardPending { get; init; } = 100_000;

    public int DashboardOverheadJobs { get; init; } = 100_000;

    /// <summary>Dashboard workload: skip the page timings (only the overhead runs).</summary>
    public bool DashboardNoPages { get; init; }
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

    /// <summary>No-op jobs per deployed throughput run (spawned before the workers start).</summary>
    public int DeployedJobs { get; init; } = 20_000;
    /// <summary>Worker processes and poller setting of each deployed throughput run.</summary>
    public IReadOnlyList<DeployedShape> DeployedShapes { get; init; } = [new(1, 16, 8), new(2, 16, 8), new(1, 50, 30)];
    /// <summary>Paced single spawns of the deployed latency run's steady phase (10 ms apart).</summary>
    public int DeployedLatencySamples { get; init; } = 1000;
    /// <summary>Generated job types registered on the tenants worker, besides the measured one.</summary>
    public int TenantTypes { get; init; } = 10_000;
    /// <summary>Serial queues holding one job due tomorrow each (of the tenant types).</summary>
    public int TenantQueues { get; init; } = 100_000;
    /// <summary>Paced single spawns of the measured type per tenants phase.</summary>
    public int TenantSamples { get; init; } = 200;
    /// <summary>How long the idle worker's CPU is measured.</summary>
    public int TenantIdleSeconds { get; init; } = 30;
    /// <summary>How long after every type's reminder is written the idle measurement starts: past the
    /// first reminder tick (1 min after registration) and the first maintenance tick of the type grains
    /// (JobLostInterval / 2 = 2.5 min by default), so the window sees the steady state.</summary>
    public int TenantSettleSeconds { get; init; } = 160;
    /// <summary>Run the same measurements first with a worker that registers only the bench's types.</summary>
    public bool TenantBaseline { get; init; } = true;
    /// <summary>Counted rounds of the time-to-first-spawn probes (one fresh process per way of spawning each), after a warm-up round.</summary>
    public int FirstSpawnRounds { get; init; } = 5;
    /// <summary>Starts of each kind (silo only, Job worker) the startfloor workload measures.</summary>
    public int FloorRounds { get; init; } = 5;
    /// <summary>How often the limits workload runs each setting (it reports the median).</summary>
    public int LimitsRepeats { get; init; } = 3;

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
                // The smoke run leaves tenants out (a PostgreSQL server and a worker of its own); name it to run it small.
                Workloads = new HashSet<string>(AllWorkloads.Where(w => w != "tenants"), StringComparer.OrdinalIgnoreCase),
                Jobs = 2000,
                PollerConfigs = [(200, 100)],
                CeilingConfigs = [(4, 100)],
                LatencySamples = 50,
                ScheduleJobs = 50,
                ScaleFuture = 20_000,
                ScaleDue = 2000,
                DeployedJobs = 2000,
                DeployedShapes = [new(1, 16, 8)],
                DeployedLatencySamples = 20,
                TenantTypes = 50,
                TenantQueues = 1000,
                TenantSamples = 20,
                TenantIdleSeconds = 2,
                TenantSettleSeconds = 1,
                TenantBaseline = false,
                FirstSpawnRounds = 1,
                FloorRounds = 1,
                LimitsRepeats = 1,
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
                "--deployed-jobs" => o with { DeployedJobs = Int(Next()) },
                "--deployed-shapes" => o with { DeployedShapes = Shapes(Next()) },
                "--deployed-latency-samples" => o with { DeployedLatencySamples = Int(Next()) },
                "--tenant-types" => o with { TenantTypes = Int(Next()) },
                "--tenant-queues" => o with { TenantQueues = Int(Next()) },
                "--tenant-samples" => o with { TenantSamples = Int(Next()) },
                "--tenant-idle-seconds" => o with { TenantIdleSeconds = Int(Next()) },
                "--tenant-settle-seconds" => o with { TenantSettleSeconds = Int(Next()) },
                "--no-tenant-baseline" => o with { TenantBaseline = false },
                "--first-spawn-rounds" => o with { FirstSpawnRounds = Int(Next()) },
                "--limits-repeats" => o with { LimitsRepeats = Int(Next()) },
                "--floor-rounds" => o with { FloorRounds = Int(Next()) },
                "--dashboard-finished" => o with { DashboardFinished = Int(Next()) },
                "--dashboard-pending" => o with { DashboardPending = Int(Next()) },
                "--dashboard-overhead-jobs" => o with { DashboardOverheadJobs = Int(Next()) },
                "--dashboard-no-pages" => o with { DashboardNoPages = true },
                _ => throw new ArgumentException($"Unknown argument '{args[i]}'. " + Usage),
            };
        }

        return o;
    }

    public const string Usage =
        "Usage: dotnet run -c Release --project bench/Job.Bench -- [--quick] [--workload throughput,latency,schedule,scale,ceiling,deployed,tenants,firstspawn,limits,dashboard,startfloor] " +
        "[--jobs N] [--poller max:min,…] [--ceiling workers:batch,…] [--latency-samples N] [--scale-future N] [--scale-due N] " +
        "[--second-silo-process] [--no-profile] [--out file.md] " +
        "[--deployed-jobs N] [--deployed-shapes workersxmax:min,…] [--deployed-latency-samples N] " +
        "[--tenant-types N] [--tenant-queues N] [--tenant-samples N] [--tenant-idle-seconds N] [--tenant-settle-seconds N] [--no-tenant-baseline] " +
        "[--first-spawn-rounds N] [--limits-repeats N] [--floor-rounds N] " +
        "[--dashboard-finished N] [--dashboard-pending N] [--dashboard-overhead-jobs N] [--dashboard-no-pages]";

    private static HashSet<string> ParseWorkloads(string value)
    {
        var set = new HashSet<string>(value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), StringComparer.OrdinalIgnoreCase);
        var unknown = set.Except(AllWorkloads, StringComparer.OrdinalIgnoreCase).ToList();
        return unknown.Count == 0 ? set : throw new ArgumentException($"Unknown workload(s) {string.Join(", ", unknown)}; known: {string.Join(", ", AllWorkloads)}.");
    }

    private static int Int(string s) =>
        int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n > 0 ? n : throw new ArgumentException($"'{s}' is not a positive integer.");

    // "1x16:8,2x16:8": worker processes × MaxJobsPerProcess:MinJobsPerProcess.
    private static List<DeployedShape> Shapes(string s) =>
        s.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(p =>
        {
            var x = p.Split('x', 'X', '×');
            var mm = x.Length == 2 ? x[1].Split(':') : [];
            var shape = mm.Length == 2 ? new DeployedShape(Int(x[0]), Int(mm[0]), Int(mm[1])) : throw new ArgumentException($"'{p}' is not workersxmax:min (e.g. 2x16:8).");
            return shape.Min <= shape.Max ? shape : throw new ArgumentException($"'{p}': min cannot exceed max.");
        }).ToList();

    private static List<(int, int)> Pairs(string s) =>
        s.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(p =>
        {
            var parts = p.Split(':');
            return parts.Length == 2 ? (Int(parts[0]), Int(parts[1])) : throw new ArgumentException($"'{p}' is not a:b.");
        }).ToList();
}

/// <summary>One deployed throughput run: <paramref name="Workers"/> worker processes, each with this poller setting.</summary>
public readonly record struct DeployedShape(int Workers, int Max, int Min)
{
    public override string ToString() => $"{Workers}x{Max}:{Min}";
}
