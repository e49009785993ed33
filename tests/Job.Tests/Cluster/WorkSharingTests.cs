using System.Globalization;
using Job.TestSilo;
using Job.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Job.Tests.Cluster;

/// <summary>(a) Three silo processes share the queue, each within its own MaxJobsPerProcess, and no job runs twice.</summary>
[Collection(ClusterCollection.Name)]
public sealed class WorkSharingTests(DatabaseFixture db, ITestOutputHelper output) : IClassFixture<DatabaseFixture>
{
    [Fact(Timeout = 180_000)]
    public async Task Silos_share_the_load_within_their_limits_and_run_each_job_once()
    {
        await using var cluster = await ClusterHarness.CreateAsync(await db.CreateDatabaseAsync(), output);
        var limits = new[] { 3, 5, 8 };
        var silos = await Task.WhenAll(limits.Select((max, i) => cluster.StartSiloReadyAsync(new Dictionary<string, string>
        {
            ["JOB_TEST_MAX_JOBS"] = max.ToString(CultureInfo.InvariantCulture),
            ["JOB_TEST_MIN_JOBS"] = max.ToString(CultureInfo.InvariantCulture),
        }, $"share{i + 1}-max{max}")));

        const int jobs = 240;
        var started = DateTime.UtcNow;
        await cluster.SpawnWorkAsync(jobs, i => new CrashConfig(DurationMs: 100 + (i % 5) * 50));
        Assert.True(await ClusterHarness.EventuallyAsync(() => cluster.AllCompletedAsync(jobs), TimeSpan.FromSeconds(90)),
            $"not all {jobs} jobs completed in 90 s: {await cluster.EndStateAsync()}");
        cluster.Log($"{jobs} jobs completed in {(DateTime.UtcNow - started).TotalSeconds:F1}s");

        var end = await cluster.EndStateAsync();
        cluster.Log(end.ToString());
        Assert.Equal(jobs, end.Completed);
        Assert.Equal(jobs, end.JobCompletedEvents);
        Assert.Equal(0, end.LiveExecutions);
        Assert.Equal(jobs, end.Runs); // nothing crashed: exactly one run per job
        Assert.Equal(jobs, end.JobsRun);

        var perSilo = await cluster.RowsAsync("SELECT silo, count(*) FROM test_runs GROUP BY silo ORDER BY silo");
        foreach (var row in perSilo)
        {
            cluster.Log($"runs on {row[0]}: {row[1]}");
        }

        Assert.Equal(3, perSilo.Count); // every silo claimed

        // Peak concurrency per silo from the run intervals: at each run start, how many runs of the same
        // silo had started and not yet finished.
        for (var i = 0; i < silos.Length; i++)
        {
            var peak = await cluster.ScalarAsync<long>("""
                SELECT coalesce(max(c), 0) FROM (
                  SELECT (SELECT count(*) FROM test_runs o
                          WHERE o.silo = r.silo AND o.started_at <= r.started_at AND o.finished_at > r.started_at) AS c
                  FROM test_runs r WHERE r.silo = @silo) x
                """, ("silo", silos[i].Address!));
            cluster.Log($"{silos[i].Label}: peak concurrent runs {peak} (limit {limits[i]})");
            Assert.InRange(peak, 1, limits[i]);
        }

        // No two runs of one job overlap (there was no rescue).
        var overlapping = await cluster.ScalarAsync<long>("""
            SELECT count(*) FROM test_runs a JOIN test_runs b
              ON a.job_id = b.job_id AND a.ctid <> b.ctid AND a.started_at < b.finished_at AND b.started_at < a.finished_at
            """);
        Assert.Equal(0, overlapping);
    }
}
