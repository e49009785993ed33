using System.Net;
using Job.Hosting;
using Job.Tests.Infrastructure;
using Npgsql;

namespace Job.Tests.Worker;

/// <summary>
/// samples/Worker, the project a team copies, as it ships: built with the solution, run from its own
/// folder (its appsettings.json included) against the test PostgreSQL. A job of its type, spawned
/// straight into the database, completes; liveness, readiness and the Prometheus scrape answer;
/// SIGTERM stops it cleanly.
/// </summary>
[Collection(Cluster.ClusterCollection.Name)] // a separate process: never alongside the crash tests
public sealed class WorkerSampleTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(90);

    /// <summary>The sample's config type, as JSON sees it (the test does not reference the sample).</summary>
    private sealed record BatchConfig(string Name, int Items);

    [Fact]
    public async Task The_sample_worker_runs_its_job_type_and_serves_health_and_metrics()
    {
        var folder = Path.GetDirectoryName(BuiltPrograms.PathOf("Worker.dll"))!;
        Assert.True(File.Exists(Path.Combine(folder, "appsettings.json")), "the sample's own configuration ships next to it");
        await using var worker = WorkerProcess.Start(Path.Combine(folder, "Worker.dll"), Path.GetTempPath(), new Dictionary<string, string>
        {
            ["ConnectionStrings__Jobs"] = db.ConnectionString,
            ["Orleans__ClusterId"] = "sample-" + Guid.NewGuid().ToString("N")[..8],
        });
        await worker.WaitReadyAsync(ReadyTimeout);

        // 10.20: a one-machine setup (the database on loopback, Orleans:AdvertisedIP auto) keeps the port on loopback.
        Assert.Contains(worker.Output, line => line.Contains($"Now listening on: http://127.0.0.1:{worker.HealthPort}", StringComparison.Ordinal));
        Assert.Contains(worker.Output, line => line.Contains("Orleans:AdvertisedIP is auto: advertising 127.0.0.1", StringComparison.Ordinal));
        // 10.17: the shipped worker starts without Orleans' spurious warnings (server GC off, the watchdog's
        // "deadlock" at start): its project file turns server GC on, and the membership clock counts from the start.
        Assert.DoesNotContain(worker.Output, line => line.Contains("ServerGC", StringComparison.Ordinal) || line.Contains("Watchdog", StringComparison.Ordinal));
        var live = await worker.GetAsync("/healthz");
        Assert.Equal(HttpStatusCode.OK, live.Status);
        Assert.Equal("Healthy\n", live.Body);
        var ready = await worker.GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.OK, ready.Status);
        Assert.Equal("Healthy\njobs: Healthy (ready)\n", ready.Body);

        await using var runtime = new JobRuntime(new JobsOptions { ConnectionString = db.ConnectionString });
        var spawner = new JobSpawner<BatchConfig>(new JobType("sample.batch"), runtime.Context);
        var job = await spawner.SpawnAsync(JobId.New(), new BatchConfig("test batch", 3));
        await WaitForAsync(async () => await TerminalStateAsync(job.Id) == "completed", TimeSpan.FromSeconds(60), () => string.Join('\n', worker.Output));
        // The console logger writes on its own thread: the job's line may reach the output after its completion reached the database.
        await WaitForAsync(() => Task.FromResult(worker.Output.Any(line => line.Contains($"sample.batch {job.Id}: test batch done (3 items", StringComparison.Ordinal))),
            TimeSpan.FromSeconds(10), () => string.Join('\n', worker.Output));

        // 14.5: the exported metrics, as Prometheus scrapes them, and every one the Grafana dashboard queries.
        var scheduled = await spawner.SpawnAtAsync(JobId.New(), new BatchConfig("later", 1), DateTimeOffset.UtcNow.AddHours(1));
        // A recurring schedule ticking every second (of a type no worker runs, so its jobs stay out of the
        // sample's counts): the worker, the cluster's leader, counts its ticks for the schedules' panels.
        await using var client = JobClient.Create(new JobClientOptions { ConnectionString = db.ConnectionString });
        await client.Schedules.SetAsync(new JobScheduleSpec<BatchConfig>("metrics-probe", new JobType("metrics.probe"), "* * * * * *", new BatchConfig("tick", 1)));
        var dashboard = DashboardQueries.Read(await File.ReadAllTextAsync(Path.Combine(BuiltPrograms.RepositoryRoot(), "deploy", "grafana", "job-dashboard.json")));
        var (metricNames, labelNames) = DashboardQueries.Names(dashboard);
        Assert.Superset(new SortedSet<string>(StringComparer.Ordinal)
        {
            "job_queue_depth", "job_running", "job_dispatch_lag_seconds_bucket", "job_run_duration_seconds_bucket",
            "job_runs_total", "job_rescued_total", "job_stale_writes_total", "job_schedule_ticks_total",
        }, new SortedSet<string>(metricNames, StringComparer.Ordinal));
        IReadOnlyList<PrometheusSample> scrape = [];
        string body = "";
        bool Answers(IReadOnlyList<PrometheusSample> s) =>
            metricNames.All(m => s.Any(x => x.Name == m))
            && s.Any(x => x.Name == "job_queue_depth" && x["job_type"] == "sample.batch" && x["job_state"] == "scheduled" && x.Value >= 1)
            && s.Any(x => x.Name == "job_schedule_ticks_total" && x["job_schedule"] == "metrics-probe" && x["job_outcome"] == "spawned" && x.Value >= 1);
        await WaitForAsync(async () =>
        {
            var metrics = await worker.GetAsync("/metrics");
            Assert.Equal(HttpStatusCode.OK, metrics.Status);
            body = metrics.Body;
            scrape = PrometheusScrape.Parse(body);
            return Answers(scrape);
        }, TimeSpan.FromSeconds(60), () => $"the scrape lacks {string.Join(", ", metricNames.Where(m => !scrape.Any(x => x.Name == m)))} or the scheduled job's depth:\n{body}");
        var labelsSeen = scrape.SelectMany(x => x.Labels.Keys).ToHashSet(StringComparer.Ordinal);
        Assert.Superset(new SortedSet<string>(labelNames, StringComparer.Ordinal), new SortedSet<string>(labelsSeen, StringComparer.Ordinal));

        // What the run left: a completed run with its duration and lag, counters that start at zero.
        Assert.Contains(scrape, x => x.Name == "job_runs_total" && x["job_type"] == "sample.batch" && x["job_outcome"] == "completed" && x.Value >= 1);
        Assert.Contains(scrape, x => x.Name == "job_runs_total" && x["job_type"] == "sample.batch" && x["job_outcome"] == "errored" && x.Value == 0);
        Assert.Contains(scrape, x => x.Name == "job_run_duration_seconds_count" && x["job_type"] == "sample.batch" && x["job_outcome"] == "completed" && x.Value >= 1);
        Assert.Contains(scrape, x => x.Name == "job_run_duration_seconds_bucket" && x["le"] == "0.001"); // seconds buckets, not the SDK's millisecond ones
        Assert.Contains(scrape, x => x.Name == "job_dispatch_lag_seconds_count" && x["job_type"] == "sample.batch" && x.Value >= 1);
        Assert.Contains(scrape, x => x.Name == "job_claimed_total" && x.Value >= 1);
        Assert.Contains(scrape, x => x.Name == "job_rescued_total" && x["job_type"] == "sample.batch" && x["job_rescue_reason"] == "silo_lost" && x.Value == 0);
        Assert.Contains(scrape, x => x.Name == "job_stale_writes_total" && x["job_type"] == "sample.batch" && x.Value == 0);
        Assert.Contains(scrape, x => x.Name == "job_queue_depth" && x["job_type"] == "sample.batch" && x["job_state"] == "pending" && x.Value == 0);
        Assert.Contains(scrape, x => x.Name == "job_running" && x["job_silo"] is { Length: > 0 });
        await runtime.Context.Control.CancelAsync(scheduled.Id, "test over", DateTimeOffset.UtcNow, CancellationToken.None);
        await client.Schedules.RemoveAsync("metrics-probe");

        Assert.Equal(0, await worker.StopAsync(TimeSpan.FromSeconds(60)));
        Assert.DoesNotContain(worker.Output, line => line.Contains(" fail: ", StringComparison.Ordinal) || line.Contains(" crit: ", StringComparison.Ordinal));
    }

    private async Task<string?> TerminalStateAsync(JobId id)
    {
        await using var connection = new NpgsqlConnection(db.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT terminal_state FROM jobs WHERE id = @id", connection);
        command.Parameters.AddWithValue("id", id.Value);
        return await command.ExecuteScalarAsync() as string;
    }

    private static async Task WaitForAsync(Func<Task<bool>> condition, TimeSpan timeout, Func<string> explain,
        [System.Runtime.CompilerServices.CallerArgumentExpression(nameof(condition))] string? awaited = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"`{awaited}` did not hold within {timeout}:\n{explain()}");
            await Task.Delay(100);
        }
    }
}
