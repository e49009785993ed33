using Job.TestSilo;
using Job.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Job.Tests.Cluster;

/// <summary>(c) A silo frozen (SIGSTOP) until declared dead comes back (SIGCONT) with a finished run:
/// its late completion must not be written, because the job was rescued and completed elsewhere.</summary>
[Collection(ClusterCollection.Name)]
public sealed class FencingTests(DatabaseFixture db, ITestOutputHelper output) : IClassFixture<DatabaseFixture>
{
    private const string RefusedLine = "was refused because the job was handed to another runner";

    [Fact(Timeout = 240_000)]
    public async Task A_zombie_silos_late_completion_is_refused()
    {
        await using var cluster = await ClusterHarness.CreateAsync(await db.CreateDatabaseAsync(), output);
        // A frozen silo keeps its TCP connections open, so probes time out instead of being refused, and Orleans spares
        // it for MaxProbeTimeout × NumMissedProbesLimit: 12 s with Job's MembershipPauseTolerance (Orleans' own
        // 4 × ProbeTimeout made that 36 s, and the death ~40 s after SIGSTOP).
        var silos = await Task.WhenAll(cluster.StartSiloReadyAsync(label: "fenceA"), cluster.StartSiloReadyAsync(label: "fenceB"), cluster.StartSiloReadyAsync(label: "fenceC"));

        // The first attempt runs 15 s (the zombie's run), the rescued one 0.5 s.
        var id = (await cluster.SpawnWorkAsync(1, _ => new CrashConfig(DurationMs: 15_000, LaterAttemptDurationMs: 500)))[0].Value;
        Assert.True(await ClusterHarness.EventuallyAsync(
            async () => await cluster.ScalarAsync<long>("SELECT count(*) FROM test_runs WHERE job_id = @id", ("id", id)) == 1, TimeSpan.FromSeconds(20)),
            "the job did not start within 20 s");
        var zombieAddress = await cluster.ScalarAsync<string>("SELECT silo FROM test_runs WHERE job_id = @id", ("id", id));
        var zombie = silos.Single(s => s.Address == zombieAddress);
        var survivors = silos.Where(s => s != zombie).ToArray();
        var zombieToken = await cluster.ScalarAsync<long>("SELECT claim_token FROM job_executions WHERE id = @id", ("id", id));
        cluster.Log($"job {id} runs on {zombie.Label} with claim token {zombieToken}; SIGSTOP");

        var stoppedAt = DateTime.UtcNow;
        await zombie.SignalAsync("STOP");
        Assert.True(await ClusterHarness.EventuallyAsync(
            async () => await cluster.MembershipStatusAsync(zombie.Address!) == ClusterHarness.SiloStatusDead, TimeSpan.FromSeconds(120)),
            "the frozen silo was not declared dead within 120 s");
        cluster.Log($"{zombie.Label} declared dead {(DateTime.UtcNow - stoppedAt).TotalSeconds:F1}s after SIGSTOP");
        Assert.True(await ClusterHarness.EventuallyAsync(() => cluster.AllCompletedAsync(1), TimeSpan.FromSeconds(30)),
            "the survivor did not complete the rescued job");
        var rescuedRun = await cluster.RowsAsync("SELECT attempt, silo FROM test_runs WHERE job_id = @id ORDER BY started_at", ("id", id));
        Assert.Equal([1, 2], rescuedRun.Select(r => (int)r[0]!).ToArray());
        Assert.Equal(zombie.Address, (string)rescuedRun[0][1]!);
        var survivor = survivors.Single(s => s.Address == (string)rescuedRun[1][1]!);
        var before = await HistoryAsync(cluster, id);
        var finishedBefore = await cluster.ScalarAsync<DateTime>("SELECT finished_at FROM jobs WHERE id = @id", ("id", id));
        cluster.Log($"completed by {survivor.Label}; history: {string.Join(", ", before)}");

        // Wait until the zombie's 15 s have passed, so its run completes the moment it runs again.
        var wake = stoppedAt + TimeSpan.FromSeconds(16) - DateTime.UtcNow;
        if (wake > TimeSpan.Zero)
        {
            await Task.Delay(wake);
        }

        var continuedAt = DateTime.UtcNow;
        await zombie.SignalAsync("CONT");
        var outcome = await ClusterHarness.EventuallyAsync(
            () => Task.FromResult(zombie.HasExited || zombie.HasLine(RefusedLine)), TimeSpan.FromSeconds(30));
        Assert.True(outcome, "after SIGCONT the zombie neither logged the refused write nor exited within 30 s");
        await Task.Delay(TimeSpan.FromSeconds(3)); // any late write would have landed by now
        var refused = zombie.HasLine(RefusedLine);
        var report = $"FENCING after SIGCONT ({(DateTime.UtcNow - continuedAt).TotalSeconds:F1}s): refused-write logged={refused}, " +
                     $"zombie exited={zombie.HasExited} (exit code {zombie.ExitCode?.ToString() ?? "-"})";
        cluster.Log(report);

        // Nothing of the zombie's completion was applied.
        var after = await HistoryAsync(cluster, id);
        Assert.Equal(before, after);
        Assert.Single(after, e => e == "job_completed");
        Assert.Equal("completed", await cluster.ScalarAsync<string>("SELECT terminal_state FROM jobs WHERE id = @id", ("id", id)));
        Assert.Equal(finishedBefore, await cluster.ScalarAsync<DateTime>("SELECT finished_at FROM jobs WHERE id = @id", ("id", id)));
        Assert.Equal(0, await cluster.ScalarAsync<long>("SELECT count(*) FROM job_executions"));
        Assert.All(survivors, s => Assert.False(s.HasExited));
    }

    private static async Task<List<string>> HistoryAsync(ClusterHarness cluster, Guid id) =>
        (await cluster.RowsAsync("SELECT event_type || coalesce(':' || attempt, '') FROM job_events WHERE job_id = @id ORDER BY seq", ("id", id)))
        .Select(r => ((string)r[0]!).Split(':')[0]).ToList();
}
