using System.Globalization;
using Job.TestSilo;
using Xunit.Abstractions;

namespace Job.Tests.Cluster;

/// <summary>(e) PostgreSQL restarts under load: the silos survive, log the outage without a hot loop,
/// reconnect, and every job completes; none lost, none stuck running.</summary>
[Collection(ClusterCollection.Name)]
public sealed class DatabaseOutageTests(DedicatedPostgres pg, ITestOutputHelper output) : IClassFixture<DedicatedPostgres>
{
    [Fact(Timeout = 240_000)]
    public async Task Silos_ride_out_a_database_restart_and_finish_every_job()
    {
        await using var cluster = await ClusterHarness.CreateAsync(await pg.CreateDatabaseAsync(), output);
        var settings = new Dictionary<string, string>
        {
            ["JOB_TEST_MAX_JOBS"] = "10",
            ["JOB_TEST_MIN_JOBS"] = "10",
            // Runs whose hand-back failed during the outage are found by the heartbeat fallback.
            ["JOB_TEST_LOST_INTERVAL_MS"] = "10000",
        };
        var silos = await Task.WhenAll(cluster.StartSiloReadyAsync(settings, "outageA"), cluster.StartSiloReadyAsync(settings, "outageB"));

        const int jobs = 600;
        await cluster.SpawnWorkAsync(jobs, i => new CrashConfig(DurationMs: 200 + (i % 3) * 100));
        Assert.True(await ClusterHarness.EventuallyAsync(
            async () => await cluster.ScalarAsync<long>("SELECT count(*) FROM jobs WHERE terminal_state = 'completed'") >= 100, TimeSpan.FromSeconds(60)),
            "100 jobs did not complete within 60 s before the outage");

        var down = TimeSpan.FromSeconds(5);
        var stopAt = DateTime.UtcNow;
        await pg.RestartAsync(down, cluster.Log);
        var upAt = DateTime.UtcNow;

        Assert.True(await ClusterHarness.EventuallyAsync(() => cluster.AllCompletedAsync(jobs), TimeSpan.FromSeconds(120)),
            $"not all jobs completed after the restart: {await cluster.EndStateAsync()}");
        cluster.Log($"all {jobs} jobs completed {(DateTime.UtcNow - upAt).TotalSeconds:F1}s after the database came back");
        var end = await cluster.EndStateAsync();
        cluster.Log(end.ToString());

        // Log volume over the outage (and 10 s of recovery after it): capped backoff, not a hot loop.
        var windowEnd = upAt + TimeSpan.FromSeconds(10);
        foreach (var silo in silos)
        {
            Assert.False(silo.HasExited, $"{silo.Label} died during the outage");
            static bool Failed(string l) => l.Contains("fail", StringComparison.OrdinalIgnoreCase);
            // Lines about one job (its completion or hand-back failed, it was rescued) are bounded by the jobs in
            // flight; the loops (claiming, heartbeat, LISTEN, maintenance, Orleans membership) must back off.
            static bool AboutOneJob(string l) => l.Contains("Job.Execution.JobExecutor", StringComparison.Ordinal)
                || l.Contains("failed to dispatch", StringComparison.Ordinal) || l.Contains("Handing back job", StringComparison.Ordinal)
                || l.Contains("was lost: no heartbeat", StringComparison.Ordinal);
            var failed = silo.CountLines(Failed, stopAt, windowEnd);
            var perJob = silo.CountLines(l => Failed(l) && AboutOneJob(l), stopAt, windowEnd);
            var loops = failed - perJob;
            var all = silo.CountLines(_ => true, stopAt, windowEnd);
            cluster.Log(string.Create(CultureInfo.InvariantCulture,
                $"OUTAGE {silo.Label}: {failed} lines with 'fail' over {(windowEnd - stopAt).TotalSeconds:F0}s (database down {down.TotalSeconds:F0}s): {loops} from retry loops, {perJob} about single in-flight jobs; {all} lines in all"));
            Assert.True(loops < 50, $"{silo.Label} logged {loops} 'fail' lines from its loops over the outage: a hot loop?");
            Assert.True(perJob <= 5 * 10 * 2, $"{silo.Label} logged {perJob} per-job 'fail' lines, more than 5 per job it can run at once");
        }

        Assert.Equal(jobs, end.Completed);
        Assert.Equal(jobs, end.JobCompletedEvents);
        Assert.Equal(0, end.JobsCompletedTwice);
        Assert.Equal(0, end.LiveExecutions);
        cluster.Log($"OUTAGE runs rescued by the heartbeat fallback (job_lost) = {end.JobLostEvents}, repeated runs = {end.RepeatedRuns}");
    }
}
