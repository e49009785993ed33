using Job.Bench.Infrastructure;
using Job.Bench.Reporting;

namespace Job.Bench.Workloads;

/// <summary>
/// One silo drains a burst of due jobs twice: on an empty queue, then with a large number of pending
/// jobs due tomorrow in the same table and type (inserted by direct SQL). Compares throughput, claim
/// statement time and the process's RSS.
/// </summary>
public sealed class ScaleWorkload : IWorkload
{
    public string Name => "scale";

    public async Task RunAsync(BenchContext context, WorkloadResult result, CancellationToken ct)
    {
        var o = context.Options;
        var probe = new RunProbe();
        using var profiler = new SqlProfiler();
        await using var db = await context.Postgres.CreateDatabaseAsync("scale", ct).ConfigureAwait(false);
        await using var cluster = await SiloCluster.StartAsync(db, 1, o.DefaultPoller, probe, ct).ConfigureAwait(false);
        await cluster.StartPollingAsync(ct).ConfigureAwait(false);

        await BurstAsync(cluster, db, probe, profiler, Math.Min(1000, o.ScaleDue), ct).ConfigureAwait(false); // warm-up
        var vacuumsBefore = await AutovacuumsAsync(db, ct).ConfigureAwait(false);
        var empty = await MedianBurstAsync(cluster, db, probe, profiler, o.ScaleDue, ct).ConfigureAwait(false);
        var vacuumsEmpty = await AutovacuumsAsync(db, ct).ConfigureAwait(false) - vacuumsBefore;
        await Task.Delay(2000, ct).ConfigureAwait(false);
        var rssBefore = ResourceSampler.RssMegabytes();

        var insertStart = System.Diagnostics.Stopwatch.GetTimestamp();
        await db.InsertFutureJobsAsync(BenchInitializer.DefaultType, o.ScaleFuture, ct).ConfigureAwait(false);
        var insertTime = System.Diagnostics.Stopwatch.GetElapsedTime(insertStart);
        // Both runs start from the same footing: the bulk load's write-back is flushed (CHECKPOINT)
        // and a warm-up burst re-plans the statements after ANALYZE, as before the empty run.
        await db.ScalarAsync("CHECKPOINT", ct).ConfigureAwait(false);
        await Task.Delay(5000, ct).ConfigureAwait(false);
        var rssIdle = ResourceSampler.RssMegabytes();

        await BurstAsync(cluster, db, probe, profiler, Math.Min(1000, o.ScaleDue), ct).ConfigureAwait(false); // warm-up
        var vacuumsBeforeFull = await AutovacuumsAsync(db, ct).ConfigureAwait(false);
        var full = await MedianBurstAsync(cluster, db, probe, profiler, o.ScaleDue, ct).ConfigureAwait(false);
        var vacuumsFull = await AutovacuumsAsync(db, ct).ConfigureAwait(false) - vacuumsBeforeFull;
        var rssAfter = ResourceSampler.RssMegabytes();
        var future = await db.ScalarAsync("SELECT count(*) FROM job_executions WHERE execute_at > now() + interval '1 hour'", ct).ConfigureAwait(false);
        if (future != o.ScaleFuture)
        {
            throw new BenchCheckException($"Expected {o.ScaleFuture} future jobs untouched; found {future}.");
        }

        var ratio = full.Rate / empty.Rate * 100;
        result.Metric("empty_per_s", $"throughput, empty queue ({o.ScaleDue:N0} due)", empty.Rate, "jobs/s")
              .Metric("with_future_per_s", $"throughput with {o.ScaleFuture:N0} future jobs", full.Rate, "jobs/s")
              .Metric("with_future_vs_empty_pct", "throughput with future jobs vs empty", ratio, "%", "≥ 90 %")
              .Metric("claim_p50_empty_ms", "claim SQL p50, empty queue", empty.Claim.P50, "ms")
              .Metric("claim_p50_with_future_ms", "claim SQL p50 with future jobs", full.Claim.P50, "ms")
              .Metric("claim_p99_with_future_ms", "claim SQL p99 with future jobs", full.Claim.P99, "ms")
              .Metric("next_due_p50_with_future_ms", "next_due SQL p50 with future jobs", full.NextDue.P50, "ms")
              .Metric("rss_before_mb", "RSS before (empty queue)", rssBefore, "MB")
              .Metric("rss_growth_idle_mb", "RSS growth, idle with future jobs", rssIdle - rssBefore, "MB", "≤ 50 MB")
              .Metric("rss_growth_after_mb", "RSS growth after the burst", rssAfter - rssBefore, "MB", "≤ 50 MB")
              .Metric("future_insert_per_s", "future-job insert rate (direct SQL)", o.ScaleFuture / insertTime.TotalSeconds, "jobs/s")
              .Data("future_jobs", o.ScaleFuture)
              .Data("due_jobs", o.ScaleDue)
              .Data("claim_empty", Json(empty.Claim))
              .Data("claim_full", Json(full.Claim))
              .Data("rss_mb", new { before = Math.Round(rssBefore, 1), idle_with_future = Math.Round(rssIdle, 1), after = Math.Round(rssAfter, 1) })
              .Note($"Future jobs ({o.ScaleFuture:N0}, due in a day, same job type) are inserted by direct SQL " +
                    "(INSERT … SELECT generate_series into jobs and job_executions; no history rows), then VACUUM ANALYZE and CHECKPOINT; " +
                    $"took {insertTime.TotalSeconds:0.0} s.")
              .Note($"Each run is a warm-up burst then the median of three bursts: {o.ScaleDue:N0} jobs spawned (SpawnAllAsync × {o.SpawnBatch}) due at one instant a few seconds ahead " +
                    "on a polling silo; throughput = jobs / (time from due to all terminal). SQL timings via the Npgsql activity listener (on in both bursts).")
              .Note($"Claim SQL empty: {Describe(empty.Claim)}; with future jobs: {Describe(full.Claim)}. " +
                    $"Complete SQL p50 empty {empty.Complete.P50:0.00} ms, with future {full.Complete.P50:0.00} ms.")
              .Note($"Autovacuum runs on job_executions during the three measured bursts: empty queue {vacuumsEmpty}, with future jobs {vacuumsFull} (each burst leaves about two dead row versions per job; with a million rows, each vacuum also passes over million-entry indexes).")
              .Note($"RSS (VmRSS of the whole bench process: silo + harness): before {rssBefore:0.0} MB, idle with future jobs {rssIdle:0.0} MB, after burst {rssAfter:0.0} MB.");
    }

    private static async Task<Burst> BurstAsync(SiloCluster cluster, BenchDatabase db, RunProbe probe, SqlProfiler profiler, int count, CancellationToken ct)
    {
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

    // Three bursts, the middle one by rate: a single one-second burst is at the mercy of whatever
    // else the machine (autovacuum, a checkpoint) does in that second.
    private static async Task<Burst> MedianBurstAsync(SiloCluster cluster, BenchDatabase db, RunProbe probe, SqlProfiler profiler, int count, CancellationToken ct)
    {
        var bursts = new List<Burst>(3);
        for (var i = 0; i < 3; i++)
        {
            bursts.Add(await BurstAsync(cluster, db, probe, profiler, count, ct).ConfigureAwait(false));
        }

        return bursts.OrderBy(b => b.Rate).ElementAt(1);
    }

    private readonly record struct Burst(double Rate, Percentiles Claim, Percentiles Complete, Percentiles NextDue);
}
