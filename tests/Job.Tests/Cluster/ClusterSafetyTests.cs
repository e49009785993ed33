using System.Globalization;
using Job.Hosting;
using Job.TestSilo;
using Job.Tests.Infrastructure;
using Job.Tests.Runtime;
using Xunit.Abstractions;

namespace Job.Tests.Cluster;

/// <summary>
/// One cluster per database, and no claims from outside it: silos that membership cannot see must
/// not claim from the job tables (issue 10.2), a silo declared dead must not claim (10.4), and a job
/// that kills every silo running it ends errored instead of being rescued forever (10.11).
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class ClusterSafetyTests(DatabaseFixture db, ITestOutputHelper output) : IClassFixture<DatabaseFixture>
{
    [Fact(Timeout = 180_000)]
    public async Task A_process_with_another_cluster_id_refuses_to_start_on_a_database_in_use()
    {
        await using var cluster = await ClusterHarness.CreateAsync(await db.CreateDatabaseAsync(), output);
        await cluster.StartSiloReadyAsync(label: "owner");

        await using var harness = new JobsHarness(cluster.ConnectionString);
        var ex = await Assert.ThrowsAsync<JobClusterConflictException>(() => harness.StartAsync(b => b.Cluster("another-cluster")));
        cluster.Log($"refused: {ex.GetType().Name}: {ex.Message}");
        Assert.Equal("another-cluster", ex.ClusterId);
        Assert.Equal(cluster.ClusterId, ex.OtherClusterId);
        Assert.Contains(cluster.ClusterId, ex.Message);
        Assert.Contains("another-cluster", ex.Message);
        Assert.Equal(0L, await cluster.ScalarAsync<long>("SELECT count(*) FROM orleans_membership WHERE deployment_id = 'another-cluster' AND status = 3"));
    }

    [Fact(Timeout = 180_000)]
    public async Task Another_cluster_whose_silos_stopped_or_died_long_ago_no_longer_holds_the_database()
    {
        await using var cluster = await ClusterHarness.CreateAsync(await db.CreateDatabaseAsync(), output);
        var stopped = await cluster.StartSiloReadyAsync(label: "stopped");
        var killed = await cluster.StartSiloReadyAsync(label: "killed");

        // One stops cleanly (Orleans writes it Dead), the other is killed: it stays Active in the table,
        // and counts as alive until its last I-am-alive is older than Orleans' own limit.
        await stopped.SignalAsync("TERM");
        Assert.True(await stopped.WaitForExitAsync(TimeSpan.FromSeconds(60)), "the stopped silo did not exit within 60 s of SIGTERM");
        killed.Kill9();
        Assert.True(await killed.WaitForExitAsync(TimeSpan.FromSeconds(30)), "the killed silo did not exit");
        Assert.Equal(1L, await cluster.ScalarAsync<long>("SELECT count(*) FROM orleans_membership WHERE deployment_id = @c AND status = 3", ("c", cluster.ClusterId)));

        await using (var early = new JobsHarness(cluster.ConnectionString))
        {
            await Assert.ThrowsAsync<JobClusterConflictException>(() => early.StartAsync(b => b.Cluster("another-cluster")));
        }

        // Its I-am-alive aged out (as if the limit had passed): the database is free for another cluster.
        await cluster.ExecuteAsync(
            "UPDATE orleans_membership SET i_am_alive_time = now() - interval '1 hour' WHERE deployment_id = @c AND status = 3",
            ("c", cluster.ClusterId));
        await using var harness = new JobsHarness(cluster.ConnectionString);
        await harness.StartAsync(b => b.Cluster("another-cluster"));
        Assert.Equal(1L, await cluster.ScalarAsync<long>("SELECT count(*) FROM orleans_membership WHERE deployment_id = 'another-cluster' AND status = 3"));
    }

    [Fact(Timeout = 180_000)]
    public async Task A_silo_declared_dead_behind_its_back_claims_nothing()
    {
        await using var cluster = await ClusterHarness.CreateAsync(await db.CreateDatabaseAsync(), output);
        var zombie = await cluster.StartSiloReadyAsync(label: "zombie");

        // Its peers declared it dead (a pause, a partition from them but not from the database); it has not noticed yet.
        var (host, port, generation) = ClusterHarness.ParseAddress(zombie.Address!);
        await cluster.ExecuteAsync(
            "UPDATE orleans_membership SET status = @dead WHERE deployment_id = @c AND address = @a AND port = @p AND generation = @g",
            ("dead", ClusterHarness.SiloStatusDead), ("c", cluster.ClusterId), ("a", host), ("p", port), ("g", generation));
        cluster.Log($"{zombie.Label} marked dead in the membership table");

        await cluster.SpawnWorkAsync(5, _ => new CrashConfig());
        var healthy = await cluster.StartSiloReadyAsync(label: "healthy");
        Assert.True(await ClusterHarness.EventuallyAsync(() => cluster.AllCompletedAsync(5), TimeSpan.FromSeconds(60)), "the jobs did not complete on the healthy silo");
        var runsBySilo = await cluster.RowsAsync("SELECT silo, count(*) FROM test_runs GROUP BY silo");
        cluster.Log("runs: " + string.Join(", ", runsBySilo.Select(r => $"{r[0]}={r[1]}")));
        Assert.Equal(0L, await cluster.ScalarAsync<long>("SELECT count(*) FROM test_runs WHERE silo = @s", ("s", zombie.Address!)));
        Assert.Equal(5L, await cluster.ScalarAsync<long>("SELECT count(*) FROM test_runs WHERE silo = @s", ("s", healthy.Address!)));
    }

    [Fact(Timeout = 240_000)]
    public async Task A_job_that_kills_every_silo_running_it_ends_errored_after_its_attempts()
    {
        await using var cluster = await ClusterHarness.CreateAsync(await db.CreateDatabaseAsync(), output);
        await Task.WhenAll(cluster.StartSiloReadyAsync(label: "first"), cluster.StartSiloReadyAsync(label: "second"), cluster.StartSiloReadyAsync(label: "third"));
        var spawner = new JobSpawner<BlockConfig>(new JobType("crash.die"), cluster.Runtime.Context);
        var job = await spawner.SpawnAsync(JobId.New(), new BlockConfig());

        // Each of the two attempts kills the silo that runs it; the third silo rescues the second
        // claim, finds the attempts used up, and ends the job errored without running it again.
        Assert.True(await ClusterHarness.EventuallyAsync(
            async () => await cluster.ScalarAsync<string?>("SELECT terminal_state FROM jobs WHERE id = @id", ("id", job.Id.Value)) == "errored",
            TimeSpan.FromSeconds(120)), "the job did not end errored");
        Assert.Equal(2L, await cluster.ScalarAsync<long>("SELECT count(*) FROM test_runs"));
        Assert.Equal(2, cluster.Silos.Count(s => s.HasExited));
        var lastError = await cluster.ScalarAsync<string>("SELECT last_error FROM jobs WHERE id = @id", ("id", job.Id.Value));
        cluster.Log($"last error: {lastError}");
        Assert.Contains("attempt", lastError, StringComparison.OrdinalIgnoreCase);
    }

    [Fact(Timeout = 180_000)]
    public async Task The_facade_logs_to_the_console_by_default_without_spurious_warnings()
    {
        await using var cluster = await ClusterHarness.CreateAsync(await db.CreateDatabaseAsync(), output);
        var silo = await cluster.StartSiloReadyAsync(new Dictionary<string, string>
        {
            ["JOB_TEST_ENTRY"] = "facade",
            ["JOB_TEST_DEFAULT_LOGGING"] = "1",

            // As the README's samples build: Orleans warns (rightly) when a silo runs on workstation GC.
            ["DOTNET_gcServer"] = "1",
        }, label: "facade");
        var spawner = new JobSpawner<BlockConfig>(new JobType("crash.fail"), cluster.Runtime.Context);
        var job = await spawner.SpawnAsync(JobId.New(), new BlockConfig());
        Assert.True(await ClusterHarness.EventuallyAsync(
            async () => await cluster.ScalarAsync<string?>("SELECT terminal_state FROM jobs WHERE id = @id", ("id", job.Id.Value)) == "errored",
            TimeSpan.FromSeconds(60)), "the failing job did not end errored");

        // The failure is reported where a developer looks first, the console, with no setup.
        Assert.True(await ClusterHarness.EventuallyAsync(() => Task.FromResult(silo.HasLine(CrashFailJob.Message)), TimeSpan.FromSeconds(10)),
            "the job's failure was not logged to the console");
        var warnings = silo.Lines
            .Where(l => l.Line.StartsWith("warn:", StringComparison.Ordinal) || l.Line.Contains(" warn: ", StringComparison.Ordinal))
            .ToList();
        Assert.True(warnings.Count == 0, "warnings at start: " + string.Join(" | ", warnings.Select(w => w.Line)));
    }
}
