using System.Diagnostics;
using Job.Bench.Infrastructure;
using Job.Bench.Reporting;

namespace Job.Bench.Workloads;

/// <summary>
/// Spawn → start latency on an idle one-silo cluster: single SpawnAsync calls 10 ms apart; the spawn
/// timestamp travels in the job's config and the runner stamps its start (Stopwatch, same process).
/// </summary>
public sealed class LatencyWorkload : IWorkload
{
    private const int WarmUp = 20;

    public string Name => "latency";

    public async Task RunAsync(BenchContext context, WorkloadResult result, CancellationToken ct)
    {
        var samples = context.Options.LatencySamples;
        var probe = new RunProbe { KeepStarts = true };
        await using var db = await context.Postgres.CreateDatabaseAsync("latency", ct).ConfigureAwait(false);
        await using var cluster = await SiloCluster.StartAsync(db, 1, context.Options.DefaultPoller, probe, ct).ConfigureAwait(false);
        await cluster.StartPollingAsync(ct).ConfigureAwait(false);

        // Warm-up (JIT, pools, grain activation paths), not measured.
        await SpawnPacedAsync(cluster, WarmUp, ct).ConfigureAwait(false);
        await probe.WaitForAsync(WarmUp, BenchContext.TimeoutFor(WarmUp), ct).ConfigureAwait(false);
        await db.WaitUntilDrainedAsync(BenchInitializer.DefaultType, BenchContext.TimeoutFor(WarmUp), ct).ConfigureAwait(false);
        await Task.Delay(500, ct).ConfigureAwait(false);
        probe.Reset();

        var spawnCalls = await SpawnPacedAsync(cluster, samples, ct).ConfigureAwait(false);
        await probe.WaitForAsync(samples, BenchContext.TimeoutFor(samples), ct).ConfigureAwait(false);
        await db.WaitUntilDrainedAsync(BenchInitializer.DefaultType, BenchContext.TimeoutFor(samples), ct).ConfigureAwait(false);
        await db.VerifyCompletedAsync(BenchInitializer.DefaultType, WarmUp + samples, ct).ConfigureAwait(false);

        var latency = Percentiles.Of(probe.Starts.Select(s => Stopwatch.GetElapsedTime(s.Config.SpawnTimestamp, s.StartTimestamp).TotalMilliseconds));
        var spawn = Percentiles.Of(spawnCalls);
        result.Metric("p50_ms", "spawn→start p50", latency.P50, "ms", "≤ 3 ms")
              .Metric("p95_ms", "spawn→start p95", latency.P95, "ms")
              .Metric("p99_ms", "spawn→start p99", latency.P99, "ms", "≤ 15 ms")
              .Metric("max_ms", "spawn→start max", latency.Max, "ms")
              .Metric("spawn_call_p50_ms", "SpawnAsync call p50", spawn.P50, "ms")
              .Data("samples", latency.Count)
              .Note($"{samples} single SpawnAsync calls, one every 10 ms, on an idle 1-silo cluster (MaxJobsPerProcess {context.Options.DefaultPoller.MaxJobsPerProcess}). " +
                    $"Latency = runner start − timestamp taken just before SpawnAsync (so it includes the spawn's commit, p50 {spawn.P50:0.00} ms, p99 {spawn.P99:0.00} ms). " +
                    $"min {latency.Min:0.00}, mean {latency.Mean:0.00} ms.");
    }

    private static async Task<List<double>> SpawnPacedAsync(SiloCluster cluster, int count, CancellationToken ct)
    {
        var calls = new List<double>(count);
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(10));
        for (var i = 0; i < count; i++)
        {
            await timer.WaitForNextTickAsync(ct).ConfigureAwait(false);
            var ts = Stopwatch.GetTimestamp();
            await cluster.Spawner.SpawnAsync(JobId.New(), new BenchConfig(ts), ct).ConfigureAwait(false);
            calls.Add(Stopwatch.GetElapsedTime(ts).TotalMilliseconds);
        }

        return calls;
    }
}
