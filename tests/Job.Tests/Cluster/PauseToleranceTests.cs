using Job.TestSilo;
using Job.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Job.Tests.Cluster;

/// <summary>The other side of a fast rescue: a silo paused (SIGSTOP) for less than
/// <see cref="JobsOptions.MembershipPauseTolerance"/> (12 s) stays a member, and its running job
/// finishes there, once, with nothing rescued.</summary>
[Collection(ClusterCollection.Name)]
public sealed class PauseToleranceTests(DatabaseFixture db, ITestOutputHelper output) : IClassFixture<DatabaseFixture>
{
    [Fact(Timeout = 180_000)]
    public async Task A_silo_paused_shorter_than_the_tolerance_keeps_its_job()
    {
        await using var cluster = await ClusterHarness.CreateAsync(await db.CreateDatabaseAsync(), output);
        var silos = await Task.WhenAll(cluster.StartSiloReadyAsync(label: "pauseA"), cluster.StartSiloReadyAsync(label: "pauseB"), cluster.StartSiloReadyAsync(label: "pauseC"));

        var id = (await cluster.SpawnWorkAsync(1, _ => new CrashConfig(DurationMs: 3_000)))[0].Value;
        Assert.True(await ClusterHarness.EventuallyAsync(
            async () => await cluster.ScalarAsync<long>("SELECT count(*) FROM test_runs WHERE job_id = @id", ("id", id)) == 1, TimeSpan.FromSeconds(30)),
            "the job did not start within 30 s");
        var runsOn = await cluster.ScalarAsync<string>("SELECT silo FROM test_runs WHERE job_id = @id", ("id", id));
        var paused = silos.Single(s => s.Address == runsOn);

        // 6 s of silence plus however long its connections were idle before: well inside 12 s.
        cluster.Log($"job {id} runs on {paused.Label}; SIGSTOP for 6 s");
        await paused.SignalAsync("STOP");
        await Task.Delay(TimeSpan.FromSeconds(6));
        await paused.SignalAsync("CONT");

        Assert.True(await ClusterHarness.EventuallyAsync(() => cluster.AllCompletedAsync(1), TimeSpan.FromSeconds(60)), "the job did not complete");
        // Long enough for a death vote begun during the pause to have ended in a death.
        await Task.Delay(TimeSpan.FromSeconds(15));
        var statuses = new List<int?>();
        foreach (var silo in silos)
        {
            statuses.Add(await cluster.MembershipStatusAsync(silo.Address!));
        }

        var end = await cluster.EndStateAsync();
        cluster.Log($"after the pause: statuses {string.Join(", ", statuses)}; {end}");
        Assert.All(statuses, s => Assert.Equal(ClusterHarness.SiloStatusActive, s));
        Assert.False(paused.HasExited, "the paused silo exited");
        Assert.Equal(1, end.Runs); // it ran once, on the paused silo
        Assert.Equal(0, end.SiloLostEvents);
        Assert.Equal(1, end.JobCompletedEvents);
    }
}
