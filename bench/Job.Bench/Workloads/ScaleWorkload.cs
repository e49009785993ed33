using Job.Bench.Infrastructure;
using Job.Bench.Reporting;

namespace Job.Bench.Workloads;

/// <summary>
/// Does a large number of jobs due tomorrow slow down the jobs due now? One silo on one database
/// drains bursts of due jobs in three phases: empty queue (A), with the future jobs in the same
/// table and type (B, inserted by direct SQL), and empty again after deleting them (A). Bracketing
/// B between two empty phases on the same silo and database cancels slow drift of the machine and
/// the process; B is compared with the median of both empty phases, and A2 against A1 shows the
/// noise. Also reports claim statement time and the process's RSS.
/// </summary>
public sealed class ScaleWorkload : IWorkload
{
    public string Name => "scale";

    public async Task RunAsync(BenchContext context, WorkloadResult result, CancellationToken ct)
    {
        var o = context.Options;
        var rounds = o.Quick ? 2 : 5;
        using var profiler = new SqlProfiler();
        var probe = new RunProbe();
        await using var db = await context.Postgres.CreateDatabaseAsync("scale", ct).ConfigureAwait(false);
        await using var cluster = await SiloCluster.StartAsync(db, 1, o.DefaultPoller, probe, ct).ConfigureAwait(false);
        await cluster.StartPollingAsync(ct).ConfigureAwait(false);
        var side = new Side(db, probe, cluster);

        var emptyBefore = await PhaseAsync(side, profiler, o.ScaleDue, rounds, ct).ConfigureAwait(false);
        await Task.Delay(2000, ct).ConfigureAwait(false);
        var rssBefore = ResourceSampler.RssMegabytes();

        var insertStart = System.Diagnostics.Stopwatch.GetTimestamp();
        await db.InsertFutureJobsAsync(BenchInitializer.DefaultType, o.ScaleFuture, ct).ConfigureAwait(false);
        var insertTime = System.Diagnostics.Stopwatch.GetElapsedTime(insertStart);
        await SettleAsync(db, ct).ConfigureAwait(false);
        var rssIdle = ResourceSampler.RssMegabytes();
        var vacuumsBefore = await AutovacuumsAsync(db, ct).ConfigureAwait(false);
        var withFuture = await PhaseAsync(side, profiler, o.ScaleDue, rounds, ct).ConfigureAwait(false);
        var vacuums = await AutovacuumsAsync(db, ct).ConfigureAwait(false) - vacuumsBefore;
        var rssAfter = ResourceSampler.RssMegabytes();
        var future = await db.ScalarAsync("SELECT count(*) FROM job_executions WHERE execute_at > now() + interval '1 hour'", ct).ConfigureAwait(false);
        if (future != o.ScaleFuture)
        {
            throw new BenchCheckException($"Expected {o.ScaleFuture} future jobs untouched; found {future}.");
        }

        await db.DeleteFutureJobsAsync(ct).ConfigureAwait(false);
        await SettleAsync(db, ct).ConfigureAwait(false);
        var emptyAfter = await PhaseAsync(side, profiler, o.ScaleDue, rounds, ct).ConfigureAwait(false);

        List<Burst> empty = [.. emptyBefore, .. emptyAfter];
        var e = MedianOf(empty);
        var f = MedianOf(withFuture);
        var ratio = f.Rate / e.Rate * 100;
        result.Metric("empty_per_s", $"throughput, empty queue ({o.ScaleDue:N0} due), median of {empty.Count}", e.Rate, "jobs/s")
              .Metric("with_future_per_s", $"throughput with {o.ScaleFuture:N0} future jobs, median of {withFuture.Count}", f.Rate, "jobs/s")
              .Metric("with_future_vs_empty_pct", "throughput with future jobs vs empty (medians)", ratio, "%", "≥ 90 %")
              .Metric("empty_after_vs_before_pct", "empty after vs empty before (noise and drift)", MedianOf(emptyAfter).Rate / MedianOf(emptyBefore).Rate * 100, "%")
              .Metric("claim_p50_empty_ms", "claim SQL p50, empty queue", e.Claim.P50, "ms")
              .Metric("claim_p50_with_future_ms", "claim SQL p50 with future jobs", f.Claim.P50, "ms")
              .Metric("claim_p99_with_future_ms", "claim SQL p99 with future jobs", f.Claim.P99, "ms")
              .Metric("promote_p50_with_future_ms", "promote SQL (the leader's scheduler) p50 with future jobs", f.Promote.P50, "ms")
              .Metric("rss_before_mb", "RSS before (empty queue)", rssBefore, "MB")
              .Metric("rss_growth_idle_mb", "RSS growth, idle with future jobs", rssIdle - rssBefore, "MB", "≤ 50 MB")
              .Metric("rss_growth_after_mb", "RSS growth after the bursts with future jobs", rssAfter - rssBefore, "MB", "≤ 50 MB")
              .Metric("future_insert_per_s", "future-job insert rate (direct SQL)", o.ScaleFuture / insertTime.TotalSeconds, "jobs/s")
              .Data("future_jobs", o.ScaleFuture)
              .Data("due_jobs", o.ScaleDue)
              .Data("rounds", rounds)
              .Data("empty_before_rates", Rates(emptyBefore))
              .Data("future_rates", Rates(withFuture))
              .Data("empty_after_rates", Rates(emptyAfter))
              .Data("claim_empty", Json(e.Claim))
              .Data("claim_full", Json(f.Claim))
              .Data("rss_mb", new { before = Math.Round(rssBefore, 1), idle_with_future = Math.Round(rssIdle, 1), after = Math.Round(rssAfter, 1) })
              .Note($"One silo, one database, three phases of {rounds} bursts each (after a warm-up burst): empty queue; with {o.ScaleFuture:N0} future jobs " +
                    "(due in a day, same job type, inserted by direct SQL: INSERT … SELECT generate_series into jobs and job_executions as scheduled rows, no history rows; " +
                    $"took {insertTime.TotalSeconds:0.0} s); empty again after deleting them. After each load or delete: VACUUM ANALYZE and CHECKPOINT.")
              .Note($"A burst is {o.ScaleDue:N0} jobs spawned (SpawnAllAsync × {o.SpawnBatch}) due at one instant a few seconds ahead; " +
                    "throughput = jobs / (time from due to all terminal). " +
                    $"Rates, empty before: {Describe(emptyBefore)}; with future jobs: {Describe(withFuture)}; empty after: {Describe(emptyAfter)} jobs/s.")
              .Note($"Claim SQL (burst with the median rate) empty: {Describe(e.Claim)}; with future jobs: {Describe(f.Claim)}. " +
                    $"Finish SQL p50 empty {e.Finish.P50:0.00} ms, with future {f.Finish.P50:0.00} ms. SQL timings via the Npgsql activity listener.")
              .Note($"Autovacuum runs on job_executions during the phase with future jobs: {vacuums}.")
              .Note($"RSS (VmRSS of the whole bench process: silo + harness): before {rssBefore:0.0} MB, idle with future jobs {rssIdle:0.0} MB, after its bursts {rssAfter:0.0} MB.");
    }

    // A warm-up burst (it re-plans the statements after a load's ANALYZE), then the measured bursts.
    private static async Task<List<Burst>> PhaseAsync(Side side, SqlProfiler profiler, int due, int rounds, CancellationToken ct)
    {
        await BurstAsync(side, profiler, Math.Min(1000, due), ct).ConfigureAwait(false);
        var bursts = new List<Burst>(rounds);
        for (var i = 0; i < rounds; i++)
        {
            bursts.Add(await BurstAsync(side, profiler, due, ct).ConfigureAwait(false));
        }

        return bursts;
    }

    // The bulk change's dead rows and write-back are dealt with before measuring.
    private static async Task SettleAsync(BenchDatabase db, CancellationToken ct)
    {
        await db.VacuumAnalyzeAsync(ct).ConfigureAwait(false);
        await db.ScalarAsync("CHECKPOINT", ct).ConfigureAwait(false);
        await Task.Delay(5000, ct).ConfigureAwait(false);
    }

    private static Burst MedianOf(List<Burst> bursts) => bursts.OrderBy(b => b.Rate).ElementAt(bursts.Count / 2);

    private static double[] Rates(List<Burst> bursts) => bursts.Select(b => Math.Round(b.Rate)).ToArray();

    private static string Describe(List<Burst> bursts) => string.Join(", ", bursts.Select(b => b.Rate.ToString("N0")));

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
        return new Burst(count / elapsed.TotalSeconds, Stat(profiler, "claim"), Stat(profiler, "finish"), Stat(profiler, "promote"));
    }

    private static Percentiles Stat(SqlProfiler profiler, string name) =>
        profiler.Statements.TryGetValue(name, out var s) ? s.Percentiles : default;

    private static string Describe(Percentiles p) => $"{p.Count} calls, p50 {p.P50:0.00} ms, p99 {p.P99:0.00} ms, max {p.Max:0.0} ms";

    private static object Json(Percentiles p) => new { calls = p.Count, p50_ms = Math.Round(p.P50, 3), p99_ms = Math.Round(p.P99, 3), max_ms = Math.Round(p.Max, 3) };

    private static Task<long> AutovacuumsAsync(BenchDatabase db, CancellationToken ct) =>
        db.ScalarAsync("SELECT autovacuum_count FROM pg_stat_user_tables WHERE relname = 'job_executions'", ct);

    private readonly record struct Burst(double Rate, Percentiles Claim, Percentiles Finish, Percentiles Promote);

    /// <summary>The database, cluster and probe the bursts run on.</summary>
    private sealed record Side(BenchDatabase Db, RunProbe Probe, SiloCluster Cluster);
}
