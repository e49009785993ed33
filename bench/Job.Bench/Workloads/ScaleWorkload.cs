using Job.Bench.Infrastructure;
using Job.Bench.Reporting;

namespace Job.Bench.Workloads;

/// <summary>
/// Compares a burst of due jobs on an empty queue with the same burst while a large number of pending
/// jobs due tomorrow sit in the same table and type (inserted by direct SQL). Two databases, each with
/// its own one-silo cluster in this process, take turns (A B, B A, …) so that whatever else the machine
/// does drifts over both conditions alike; the result is the median of each. Also reports claim
/// statement time and the process's RSS.
/// </summary>
public sealed class ScaleWorkload : IWorkload
{
    public string Name => "scale";

    public async Task RunAsync(BenchContext context, WorkloadResult result, CancellationToken ct)
    {
        var o = context.Options;
        var rounds = o.Quick ? 2 : 5;
        using var profiler = new SqlProfiler();
        await using var emptyDb = await context.Postgres.CreateDatabaseAsync("scale_empty", ct).ConfigureAwait(false);
        await using var fullDb = await context.Postgres.CreateDatabaseAsync("scale_future", ct).ConfigureAwait(false);
        RunProbe emptyProbe = new(), fullProbe = new();
        await using var emptyCluster = await SiloCluster.StartAsync(emptyDb, 1, o.DefaultPoller, emptyProbe, ct).ConfigureAwait(false);
        await using var fullCluster = await SiloCluster.StartAsync(fullDb, 1, o.DefaultPoller, fullProbe, ct).ConfigureAwait(false);
        var empty = new Side(emptyDb, emptyProbe, emptyCluster);
        var full = new Side(fullDb, fullProbe, fullCluster);
        await emptyCluster.StartPollingAsync(ct).ConfigureAwait(false);
        await fullCluster.StartPollingAsync(ct).ConfigureAwait(false);

        await WarmUpAsync([empty, full], profiler, o.ScaleDue, ct).ConfigureAwait(false);
        await Task.Delay(2000, ct).ConfigureAwait(false);
        var rssBefore = ResourceSampler.RssMegabytes();

        var insertStart = System.Diagnostics.Stopwatch.GetTimestamp();
        await fullDb.InsertFutureJobsAsync(BenchInitializer.DefaultType, o.ScaleFuture, ct).ConfigureAwait(false);
        var insertTime = System.Diagnostics.Stopwatch.GetElapsedTime(insertStart);
        // The bulk load's write-back is flushed before measuring (both databases share the server).
        await fullDb.ScalarAsync("CHECKPOINT", ct).ConfigureAwait(false);
        await Task.Delay(5000, ct).ConfigureAwait(false);
        var rssIdle = ResourceSampler.RssMegabytes();

        // A warm-up burst on each side re-plans the statements after the load's ANALYZE.
        await WarmUpAsync([empty, full], profiler, o.ScaleDue, ct).ConfigureAwait(false);
        var vacuumsBefore = await AutovacuumsAsync(fullDb, ct).ConfigureAwait(false);
        var pairs = new List<double>(rounds);
        for (var round = 0; round < rounds; round++)
        {
            Side[] order = round % 2 == 0 ? [empty, full] : [full, empty];
            foreach (var side in order)
            {
                side.Bursts.Add(await BurstAsync(side, profiler, o.ScaleDue, ct).ConfigureAwait(false));
            }

            pairs.Add(full.Bursts[^1].Rate / empty.Bursts[^1].Rate * 100);
        }

        var vacuumsFull = await AutovacuumsAsync(fullDb, ct).ConfigureAwait(false) - vacuumsBefore;
        var rssAfter = ResourceSampler.RssMegabytes();
        var future = await fullDb.ScalarAsync("SELECT count(*) FROM job_executions WHERE execute_at > now() + interval '1 hour'", ct).ConfigureAwait(false);
        if (future != o.ScaleFuture)
        {
            throw new BenchCheckException($"Expected {o.ScaleFuture} future jobs untouched; found {future}.");
        }

        var e = empty.Median;
        var f = full.Median;
        var ratio = f.Rate / e.Rate * 100;
        result.Metric("empty_per_s", $"throughput, empty queue ({o.ScaleDue:N0} due), median of {rounds}", e.Rate, "jobs/s")
              .Metric("with_future_per_s", $"throughput with {o.ScaleFuture:N0} future jobs, median of {rounds}", f.Rate, "jobs/s")
              .Metric("with_future_vs_empty_pct", "throughput with future jobs vs empty (medians)", ratio, "%", "≥ 90 %")
              .Metric("paired_ratio_median_pct", "same, median of the per-round ratios", Median(pairs), "%")
              .Metric("claim_p50_empty_ms", "claim SQL p50, empty queue", e.Claim.P50, "ms")
              .Metric("claim_p50_with_future_ms", "claim SQL p50 with future jobs", f.Claim.P50, "ms")
              .Metric("claim_p99_with_future_ms", "claim SQL p99 with future jobs", f.Claim.P99, "ms")
              .Metric("next_due_p50_with_future_ms", "next_due SQL p50 with future jobs", f.NextDue.P50, "ms")
              .Metric("rss_before_mb", "RSS before (empty queues)", rssBefore, "MB")
              .Metric("rss_growth_idle_mb", "RSS growth, idle with future jobs", rssIdle - rssBefore, "MB", "≤ 50 MB")
              .Metric("rss_growth_after_mb", "RSS growth after the bursts", rssAfter - rssBefore, "MB", "≤ 50 MB")
              .Metric("future_insert_per_s", "future-job insert rate (direct SQL)", o.ScaleFuture / insertTime.TotalSeconds, "jobs/s")
              .Data("future_jobs", o.ScaleFuture)
              .Data("due_jobs", o.ScaleDue)
              .Data("rounds", rounds)
              .Data("empty_rates", empty.Bursts.Select(b => Math.Round(b.Rate)).ToArray())
              .Data("future_rates", full.Bursts.Select(b => Math.Round(b.Rate)).ToArray())
              .Data("paired_ratios_pct", pairs.Select(r => Math.Round(r, 1)).ToArray())
              .Data("claim_empty", Json(e.Claim))
              .Data("claim_full", Json(f.Claim))
              .Data("rss_mb", new { before = Math.Round(rssBefore, 1), idle_with_future = Math.Round(rssIdle, 1), after = Math.Round(rssAfter, 1) })
              .Note($"Two databases on one server, one silo each in this process: one stays empty, the other gets {o.ScaleFuture:N0} future jobs " +
                    "(due in a day, same job type) by direct SQL (INSERT … SELECT generate_series into jobs and job_executions; no history rows), " +
                    $"then VACUUM ANALYZE and CHECKPOINT; took {insertTime.TotalSeconds:0.0} s.")
              .Note($"{rounds} rounds after a warm-up burst on each side; each round runs one burst per side, alternating which goes first. A burst is {o.ScaleDue:N0} jobs " +
                    $"spawned (SpawnAllAsync × {o.SpawnBatch}) due at one instant a few seconds ahead; throughput = jobs / (time from due to all terminal). " +
                    $"Rates, empty: {string.Join(", ", empty.Bursts.Select(b => b.Rate.ToString("N0")))}; with future jobs: {string.Join(", ", full.Bursts.Select(b => b.Rate.ToString("N0")))} jobs/s.")
              .Note($"Claim SQL (burst with the median rate) empty: {Describe(e.Claim)}; with future jobs: {Describe(f.Claim)}. " +
                    $"Complete SQL p50 empty {e.Complete.P50:0.00} ms, with future {f.Complete.P50:0.00} ms. SQL timings via the Npgsql activity listener.")
              .Note($"Autovacuum runs on the future side's job_executions during the measured rounds: {vacuumsFull}.")
              .Note($"RSS (VmRSS of the whole bench process: both silos + harness): before {rssBefore:0.0} MB, idle with future jobs {rssIdle:0.0} MB, after the bursts {rssAfter:0.0} MB.");
    }

    private static async Task WarmUpAsync(Side[] sides, SqlProfiler profiler, int due, CancellationToken ct)
    {
        foreach (var side in sides)
        {
            await BurstAsync(side, profiler, Math.Min(1000, due), ct).ConfigureAwait(false);
        }
    }

    private static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);

    private static async Task<Burst> BurstAsync(Side side, SqlProfiler profiler, int count, CancellationToken ct)
    {
        var (cluster, db, probe) = (side.Cluster, side.Db, side.Probe);
        probe.Reset();
        var before = await db.CompletedCountAsync(BenchInitializer.DefaultType, ct).ConfigureAwait(false);
        // Due a little after the spawns will have committed (estimated generously), so none starts early.
        var due = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(1.5 + count / 20_000.0);
        await cluster.SpawnBulkAsync(count, 1000, due, ct).ConfigureAwait(false);
        var wait = due - DateTimeOffset.UtcNow;
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait, ct).ConfigureAwait(false);
        }
        else
        {
            // A loaded machine: not a failure, but the burst started draining before we started the clock.
            Console.WriteLine($"  warning: spawning the burst overran its lead by {-wait.TotalMilliseconds:0} ms");
        }
        profiler.Reset();
        var start = System.Diagnostics.Stopwatch.GetTimestamp();
        await probe.WaitForAsync(count, BenchContext.TimeoutFor(count), ct).ConfigureAwait(false);
        await db.WaitUntilDrainedAsync(BenchInitializer.DefaultType, BenchContext.TimeoutFor(count), ct, 2).ConfigureAwait(false);
        var elapsed = System.Diagnostics.Stopwatch.GetElapsedTime(start);
        await db.VerifyCompletedAsync(BenchInitializer.DefaultType, before + count, ct).ConfigureAwait(false);
        return new Burst(count / elapsed.TotalSeconds, Stat(profiler, "claim"), Stat(profiler, "complete"), Stat(profiler, "next_due"));
    }

    private static Percentiles Stat(SqlProfiler profiler, string name) =>
        profiler.Statements.TryGetValue(name, out var s) ? s.Percentiles : default;

    private static string Describe(Percentiles p) => $"{p.Count} calls, p50 {p.P50:0.00} ms, p99 {p.P99:0.00} ms, max {p.Max:0.0} ms";

    private static object Json(Percentiles p) => new { calls = p.Count, p50_ms = Math.Round(p.P50, 3), p99_ms = Math.Round(p.P99, 3), max_ms = Math.Round(p.Max, 3) };

    private static Task<long> AutovacuumsAsync(BenchDatabase db, CancellationToken ct) =>
        db.ScalarAsync("SELECT autovacuum_count FROM pg_stat_user_tables WHERE relname = 'job_executions'", ct);

    private readonly record struct Burst(double Rate, Percentiles Claim, Percentiles Complete, Percentiles NextDue);

    /// <summary>One condition of the comparison: its database, cluster, probe and measured bursts.</summary>
    private sealed class Side(BenchDatabase db, RunProbe probe, SiloCluster cluster)
    {
        public BenchDatabase Db { get; } = db;

        public RunProbe Probe { get; } = probe;

        public SiloCluster Cluster { get; } = cluster;

        public List<Burst> Bursts { get; } = [];

        /// <summary>The burst with the median rate.</summary>
        public Burst Median => Bursts.OrderBy(b => b.Rate).ElementAt(Bursts.Count / 2);
    }
}
