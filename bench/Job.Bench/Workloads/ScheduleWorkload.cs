using Job.Bench.Infrastructure;
using Job.Bench.Reporting;

namespace Job.Bench.Workloads;

/// <summary>
/// Schedule precision on an idle one-silo cluster: jobs spawned with SpawnAtAsync due 2 s ahead,
/// all at one instant, then spread evenly over 1 s; start lag = runner start (UTC) − due time.
/// </summary>
public sealed class ScheduleWorkload : IWorkload
{
    private static readonly TimeSpan s_lead = TimeSpan.FromSeconds(2);

    public string Name => "schedule";

    public async Task RunAsync(BenchContext context, WorkloadResult result, CancellationToken ct)
    {
        var n = context.Options.ScheduleJobs;
        var probe = new RunProbe { KeepStarts = true };
        await using var db = await context.Postgres.CreateDatabaseAsync("schedule", ct).ConfigureAwait(false);
        await using var cluster = await SiloCluster.StartAsync(db, 1, context.Options.DefaultPoller, probe, ct).ConfigureAwait(false);
        await cluster.StartPollingAsync(ct).ConfigureAwait(false);

        await PhaseAsync(cluster, probe, 20, TimeSpan.FromMilliseconds(300), TimeSpan.Zero, ct).ConfigureAwait(false); // warm-up
        var instant = await PhaseAsync(cluster, probe, n, s_lead, TimeSpan.Zero, ct).ConfigureAwait(false);
        var spread = await PhaseAsync(cluster, probe, n, s_lead, TimeSpan.FromSeconds(1), ct).ConfigureAwait(false);
        await db.WaitUntilDrainedAsync(BenchInitializer.DefaultType, BenchContext.TimeoutFor(n), ct).ConfigureAwait(false);
        await db.VerifyCompletedAsync(BenchInitializer.DefaultType, 20 + 2 * n, ct).ConfigureAwait(false);

        result.Metric("instant_lag_p50_ms", "all at one instant: lag p50", instant.P50, "ms")
              .Metric("instant_lag_p99_ms", "all at one instant: lag p99", instant.P99, "ms", "≤ 50 ms")
              .Metric("spread_lag_p50_ms", "spread over 1 s: lag p50", spread.P50, "ms")
              .Metric("spread_lag_p99_ms", "spread over 1 s: lag p99", spread.P99, "ms", "≤ 50 ms")
              .Data("jobs_per_phase", n)
              .Note($"{n} jobs per phase via SpawnAtAsync, due {s_lead.TotalSeconds:0} s after the phase starts. " +
                    $"Instant: min {instant.Min:0.00}, max {instant.Max:0.00} ms. Spread: min {spread.Min:0.00}, max {spread.Max:0.00} ms. " +
                    "Lag is measured on the wall clock (DateTimeOffset.UtcNow at run start − due time).");
    }

    private static async Task<Percentiles> PhaseAsync(SiloCluster cluster, RunProbe probe, int count, TimeSpan lead, TimeSpan spread, CancellationToken ct)
    {
        probe.Reset();
        var first = DateTimeOffset.UtcNow + lead;
        // Individual SpawnAtAsync calls, 10 in flight at a time.
        for (var i = 0; i < count; i += 10)
        {
            await Task.WhenAll(Enumerable.Range(i, Math.Min(10, count - i)).Select(k =>
            {
                var due = first + (count > 1 ? spread * k / (count - 1) : TimeSpan.Zero);
                return cluster.Spawner.SpawnAtAsync(JobId.New(), new BenchConfig(DueAt: due), due, ct);
            })).ConfigureAwait(false);
        }

        var overrun = DateTimeOffset.UtcNow - first;
        if (overrun > TimeSpan.Zero)
        {
            // A loaded machine: not a failure (timings are never asserted), but the lag of the first jobs includes it.
            Console.WriteLine($"  warning: spawning {count} scheduled jobs overran their {lead.TotalSeconds} s lead by {overrun.TotalMilliseconds:0} ms");
        }

        await probe.WaitForAsync(count, BenchContext.TimeoutFor(count) + lead + spread, ct).ConfigureAwait(false);
        return Percentiles.Of(probe.Starts.Select(s => (s.StartUtc - s.Config.DueAt!.Value).TotalMilliseconds));
    }
}
