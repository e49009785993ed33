using System.Globalization;
using Job.Bench.Infrastructure;
using Job.Bench.Reporting;

namespace Job.Bench.Workloads;

/// <summary>
/// The floor under a worker's start: how much CPU a worker process spends until READY, as the deployed
/// workload launches it (published ReadyToRun, server GC), with and without Job. In turn, per round:
/// the worker with <c>--silo-only</c> (the same Generic Host and Orleans silo on the same database,
/// with the PostgreSQL providers <c>AddJobs</c> configures and no Job runtime), then the worker itself
/// at 16/8 with nothing to run. Each start is a fresh cluster id, stopped gracefully before the next.
/// Reported: CPU at READY (the process's own reading), launch → READY and the methods left to the JIT,
/// medians and ranges; the silo's CPU spread over the deployed workload's job count is what any
/// Orleans worker on this database adds to each job's whole-life CPU in that workload before it runs one.
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
        for (var round = 1; round <= context.Options.FloorRounds; round++)
        {
            foreach (var kind in kinds)
            {
                var label = $"startfloor-{(kind.SiloOnly ? "silo" : "worker")}-{round}-{db.Name}";
                await using var worker = WorkerProcess.Start(
                    new WorkerProcess.Launch(db.ConnectionString, label, 16, 8, Label: label, SiloOnly: kind.SiloOnly), context.WorkerLogDirectory);
                var ready = await worker.WaitReadyAsync(s_readyTimeout, ct).ConfigureAwait(false);
                var (_, graceful) = await worker.StopAsync(s_stopTimeout).ConfigureAwait(false);
                if (!graceful)
                {
                    throw new BenchCheckException($"{kind.Name} start {round} did not stop gracefully; see {worker.LogPath}.");
                }

                var start = new Start(Double(ready, "cpu_s"), worker.ReadySeconds, Double(ready, "jit_methods"));
                starts[kind.SiloOnly].Add(start);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  round {round} {kind.Name,-10}: CPU at READY {start.CpuSeconds:0.000} s, READY after {start.ReadySeconds:0.000} s, {start.JitMethods:N0} methods JIT-compiled"));
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
        result.Note($"load average {load} at start, {loadEnd} at end; {context.Options.FloorRounds} round(s), silo only then the Job worker in each; " +
                    $"worker: {WorkerProcess.WorkerDllPath()}");
    }

    private static double Double(IReadOnlyDictionary<string, string> ready, string key) =>
        double.Parse(ready[key], NumberStyles.Float, CultureInfo.InvariantCulture);

    private sealed record Start(double CpuSeconds, double ReadySeconds, double JitMethods);
}
