using System.Globalization;
using Job.Bench.Infrastructure;
using Job.Bench.Reporting;

namespace Job.Bench.Workloads;

/// <summary>
/// The floor under a worker's start: how much CPU a worker process spends until READY, as the deployed
/// workload launches it (published ReadyToRun, server GC), with and without Job. Without Job it is the
/// worker with <c>--silo-only</c>: the same program, Generic Host and Orleans silo on the same database,
/// with the PostgreSQL providers and pool <c>AddJobs</c> configures, and nothing of Job's; with Job, the
/// worker itself at 16/8 with nothing to run. One uncounted start of each kind first (the file cache,
/// the new database), then <see cref="BenchOptions.FloorRounds"/> rounds of one start each, the order
/// alternating by round; every start has a cluster and service id of its own and is stopped gracefully
/// before the next. Reported: CPU at READY (the process's own reading), launch → READY and the methods
/// left to the JIT, medians and every sample; the silo's CPU spread over the deployed workload's job
/// count is what that workload's whole-life CPU per job carries before a worker runs a job.
/// </summary>
public sealed class StartFloorWorkload : IWorkload
{
    private static readonly TimeSpan s_readyTimeout = TimeSpan.FromSeconds(120);
    private static readonly TimeSpan s_stopTimeout = TimeSpan.FromSeconds(60);

    public string Name => "startfloor";

    public async Task RunAsync(BenchContext context, WorkloadResult result, CancellationToken ct)
    {
        var load = ResourceSampler.LoadAverage();
        Console.WriteLine($"  load average at start {load}");
        await using var db = await context.Postgres.CreateDatabaseAsync("startfloor", ct).ConfigureAwait(false);
        var kinds = new[] { (SiloOnly: true, Name: "silo only"), (SiloOnly: false, Name: "Job worker") };
        var starts = kinds.ToDictionary(k => k.SiloOnly, _ => new List<Start>());
        for (var round = 0; round <= context.Options.FloorRounds; round++)
        {
            foreach (var kind in round % 2 == 0 ? Enumerable.Reverse(kinds) : kinds)
            {
                var start = await StartAsync(context, db, kind.SiloOnly, $"startfloor-{(kind.SiloOnly ? "silo" : "worker")}-{round}-{db.Name}", ct).ConfigureAwait(false);
                if (round > 0)
                {
                    starts[kind.SiloOnly].Add(start);
                }

                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  {(round == 0 ? "warm-up" : $"round {round}")} {kind.Name,-10}: CPU at READY {start.CpuSeconds:0.000} s, READY after {start.ReadySeconds:0.000} s, {start.JitMethods:N0} methods JIT-compiled"));
            }
        }

        var jobs = context.Options.DeployedJobs;
        foreach (var kind in kinds)
        {
            var s = starts[kind.SiloOnly];
            var key = kind.SiloOnly ? "silo_only" : "worker";
            var cpu = Percentiles.Of(s.Select(x => x.CpuSeconds));
            result.Metric($"{key}_cpu_s", $"{kind.Name}: CPU at READY (median of {s.Count})", cpu.P50, "s");
            result.Metric($"{key}_ready_s", $"{kind.Name}: launch → READY (median)", Percentiles.Of(s.Select(x => x.ReadySeconds)).P50, "s");
            result.Metric($"{key}_cpu_per_job_us", $"{kind.Name}: CPU at READY over {jobs:N0} jobs (median)", cpu.P50 * 1e6 / jobs, "µs");
            result.Data($"{key}_cpu_min_s", cpu.Min).Data($"{key}_cpu_max_s", cpu.Max)
                .Data($"{key}_jit_methods_median", Percentiles.Of(s.Select(x => x.JitMethods)).P50);
            result.Note(string.Create(CultureInfo.InvariantCulture,
                $"{kind.Name}: CPU at READY {string.Join(", ", s.Select(x => x.CpuSeconds.ToString("0.000", CultureInfo.InvariantCulture)))} s " +
                $"({cpu.Min * 1e6 / jobs:0}–{cpu.Max * 1e6 / jobs:0} µs per job over {jobs:N0}); READY after " +
                $"{string.Join(", ", s.Select(x => x.ReadySeconds.ToString("0.00", CultureInfo.InvariantCulture)))} s; " +
                $"JIT-compiled methods {string.Join(", ", s.Select(x => x.JitMethods.ToString("0", CultureInfo.InvariantCulture)))}"));
        }

        var loadEnd = ResourceSampler.LoadAverage();
        result.Data("load_average_start", load).Data("load_average_end", loadEnd).Data("rounds", context.Options.FloorRounds);
        result.Note($"load average {load} at start, {loadEnd} at end; one uncounted start of each kind, then {context.Options.FloorRounds} round(s), the order alternating; " +
                    $"worker: {WorkerProcess.WorkerDllPath()}");
    }

    private static async Task<Start> StartAsync(BenchContext context, BenchDatabase db, bool siloOnly, string label, CancellationToken ct)
    {
        await using var worker = WorkerProcess.Start(
            new WorkerProcess.Launch(db.ConnectionString, label, 16, 8, Label: label, SiloOnly: siloOnly, ServiceId: label), context.WorkerLogDirectory);
        var ready = await worker.WaitReadyAsync(s_readyTimeout, ct).ConfigureAwait(false);
        var (_, graceful) = await worker.StopAsync(s_stopTimeout).ConfigureAwait(false);
        return graceful
            ? new Start(Double(ready, "cpu_s"), worker.ReadySeconds, Double(ready, "jit_methods"))
            : throw new BenchCheckException($"{label} did not stop gracefully; see {worker.LogPath}.");
    }

    private static double Double(IReadOnlyDictionary<string, string> ready, string key) =>
        double.Parse(ready[key], NumberStyles.Float, CultureInfo.InvariantCulture);

    private sealed record Start(double CpuSeconds, double ReadySeconds, double JitMethods);
}
