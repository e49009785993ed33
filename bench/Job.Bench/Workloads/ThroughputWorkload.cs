using Job.Bench.Infrastructure;
using Job.Bench.Reporting;

namespace Job.Bench.Workloads;

/// <summary>
/// N no-op jobs spawned in bulk before polling starts, then drained, with one silo and with two
/// (both in this process unless --second-silo-process), for each poller setting; plus one profiled run.
/// </summary>
public sealed class ThroughputWorkload : IWorkload
{
    public string Name => "throughput";

    public async Task RunAsync(BenchContext context, WorkloadResult result, CancellationToken ct)
    {
        var o = context.Options;
        var runs = new List<RunResult>();
        foreach (var poller in o.PollerConfigs)
        {
            foreach (var silos in new[] { 1, 2 })
            {
                var run = await RunOnceAsync(context, silos, poller, profiler: null, ct).ConfigureAwait(false);
                runs.Add(run);
                Console.WriteLine($"  throughput {silos} silo(s), max/min {poller.Max}/{poller.Min}: spawn {run.SpawnRate:N0}/s, processed {run.ProcessedRate:N0}/s; " +
                                  $"bench process {run.Usage.ProcessCores:0.00} cores, postgres {run.Usage.PostgresCores:0.00} cores");
            }
        }

        var best1 = runs.Where(r => r.Silos == 1).MaxBy(r => r.ProcessedRate)!;
        var best2 = runs.Where(r => r.Silos == 2).MaxBy(r => r.ProcessedRate)!;
        context.OneSiloThroughput = best1.ProcessedRate;
        context.TwoSiloThroughput = best2.ProcessedRate;
        var two = o.SecondSiloProcess ? "2 silos (2nd in a child process)" : "2 silos (in-process)";
        result.Metric("spawn_per_s", "spawn rate (SpawnAllAsync × " + o.SpawnBatch + ")", runs.Max(r => r.SpawnRate), "jobs/s")
              .Metric("one_silo_per_s", $"1 silo processed (max/min {best1.Poller.Max}/{best1.Poller.Min})", best1.ProcessedRate, "jobs/s", "≥ 10,000 jobs/s")
              .Metric("two_silos_per_s", $"{two} processed (max/min {best2.Poller.Max}/{best2.Poller.Min})", best2.ProcessedRate, "jobs/s")
              .Data("jobs", o.Jobs)
              .Data("two_silos_mode", o.SecondSiloProcess ? "second silo in a child process" : "two Jobs instances in one process")
              .Data("runs", runs.Select(r => r.ToJson()).ToList());
        foreach (var r in runs)
        {
            result.Note($"{r.Silos} silo(s), MaxJobsPerProcess/Min {r.Poller.Max}/{r.Poller.Min}: spawn {r.SpawnRate:N0} jobs/s, " +
                        $"processed {r.ProcessedRate:N0} jobs/s in {r.Usage.WallSeconds:0.00} s; CPU: bench process {r.Usage.ProcessCores:0.00} cores, " +
                        $"postgres {r.Usage.PostgresCores:0.00} cores (machine has {Environment.ProcessorCount}).");
        }

        if (o.Profile)
        {
            using var profiler = new SqlProfiler();
            var profiled = await RunOnceAsync(context, 1, best1.Poller, profiler, ct).ConfigureAwait(false);
            DescribeProfile(result, profiled, profiler);
        }
    }

    private static async Task<RunResult> RunOnceAsync(BenchContext context, int silos, (int Max, int Min) poller, SqlProfiler? profiler, CancellationToken ct)
    {
        var o = context.Options;
        var probe = new RunProbe();
        await using var db = await context.Postgres.CreateDatabaseAsync("throughput", ct).ConfigureAwait(false);
        await using var cluster = await SiloCluster.StartAsync(db, silos, BenchOptions.Poller(poller), probe, ct, o.SecondSiloProcess).ConfigureAwait(false);
        var spawnTime = await cluster.SpawnBulkAsync(o.Jobs, o.SpawnBatch, null, ct).ConfigureAwait(false);

        profiler?.Reset();
        var timeout = BenchContext.TimeoutFor(o.Jobs);
        var before = context.Sampler.Take();
        await cluster.StartPollingAsync(ct).ConfigureAwait(false);
        if (!cluster.HasExternalSilo)
        {
            await probe.WaitForAsync(o.Jobs, timeout, ct).ConfigureAwait(false);
        }

        await db.WaitUntilDrainedAsync(BenchInitializer.DefaultType, timeout, ct, cluster.HasExternalSilo ? 20 : 2).ConfigureAwait(false);
        var after = context.Sampler.Take();
        await db.VerifyCompletedAsync(BenchInitializer.DefaultType, o.Jobs, ct).ConfigureAwait(false);
        var usage = ResourceSampler.Between(before, after);
        return new RunResult(silos, poller, o.Jobs / spawnTime.TotalSeconds, o.Jobs / usage.WallSeconds, usage);
    }

    private static void DescribeProfile(WorkloadResult result, RunResult run, SqlProfiler profiler)
    {
        var wall = run.Usage.WallSeconds;
        result.Note($"PROFILED run (1 silo, {run.Poller.Max}/{run.Poller.Min}, listeners on Npgsql + Job activity sources): {run.ProcessedRate:N0} jobs/s, " +
                    $"wall {wall:0.00} s, bench process CPU {run.Usage.ProcessCpuSeconds:0.00} s ({run.Usage.ProcessCores:0.00} cores), " +
                    $"postgres CPU {run.Usage.PostgresCpuSeconds:0.00} s ({run.Usage.PostgresCores:0.00} cores).");
        var sizes = profiler.ClaimSizes.ToArray();
        if (sizes.Length > 0)
        {
            var lag = profiler.DispatchLag();
            result.Note($"claims: {sizes.Length} claim calls, mean batch {sizes.Average():0.0}, max {sizes.Max()}, empty {sizes.Count(s => s == 0)}; " +
                        $"dispatch lag (claim returned → job.execute span start) p50 {lag.P50:0.00} ms, p99 {lag.P99:0.00} ms, max {lag.Max:0.0} ms.");
        }

        var profile = new Dictionary<string, object>(StringComparer.Ordinal);
        foreach (var (name, stat) in profiler.Statements.OrderByDescending(kv => kv.Value.TotalMs))
        {
            var p = stat.Percentiles;
            result.Note($"SQL `{name}`: {stat.Count:N0} calls, {stat.TotalMs / 1000:0.00} s summed over concurrent calls " +
                        $"({stat.TotalMs / 1000 / wall:0.00} × wall), per call p50 {p.P50:0.00} ms, p99 {p.P99:0.00} ms, max {p.Max:0.0} ms.");
            profile[name] = new { calls = stat.Count, total_ms = Math.Round(stat.TotalMs), p50_ms = Math.Round(p.P50, 3), p99_ms = Math.Round(p.P99, 3) };
        }

        result.Data("profile", new
        {
            processed_per_s = Math.Round(run.ProcessedRate),
            wall_s = Math.Round(wall, 3),
            process_cpu_s = Math.Round(run.Usage.ProcessCpuSeconds, 2),
            postgres_cpu_s = Math.Round(run.Usage.PostgresCpuSeconds, 2),
            claim_calls = sizes.Length,
            claim_mean_batch = sizes.Length > 0 ? Math.Round(sizes.Average(), 1) : 0,
            statements = profile,
        });
    }

    private sealed record RunResult(int Silos, (int Max, int Min) Poller, double SpawnRate, double ProcessedRate, ResourceSampler.Usage Usage)
    {
        public object ToJson() => new
        {
            silos = Silos,
            max_jobs = Poller.Max,
            min_jobs = Poller.Min,
            spawn_per_s = Math.Round(SpawnRate),
            processed_per_s = Math.Round(ProcessedRate),
            wall_s = Math.Round(Usage.WallSeconds, 3),
            process_cores = Math.Round(Usage.ProcessCores, 2),
            postgres_cores = Math.Round(Usage.PostgresCores, 2),
        };
    }
}
