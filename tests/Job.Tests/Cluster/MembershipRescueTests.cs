using Job.TestSilo;
using Job.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Job.Tests.Cluster;

/// <summary>(b) kill -9 a silo mid-job: Orleans membership declares it dead and its jobs run elsewhere; a
/// claim the dead silo committed after the survivors rescued its jobs is caught by the leader's sweep; a
/// serial queue whose head was running on the dead silo goes on in its order, one job at a time.</summary>
[Collection(ClusterCollection.Name)]
public sealed class MembershipRescueTests(DatabaseFixture db, ITestOutputHelper output) : IClassFixture<DatabaseFixture>
{
    [Fact(Timeout = 180_000)]
    public async Task Jobs_of_a_killed_silo_restart_elsewhere_once_membership_declares_it_dead()
    {
        await using var cluster = await ClusterHarness.CreateAsync(await db.CreateDatabaseAsync(), output);
        // Orleans membership at its defaults; the heartbeat fallback far away (5 min default) so the rescue
        // measured here is the membership one.
        var silos = await Task.WhenAll(cluster.StartSiloReadyAsync(label: "rescueA"), cluster.StartSiloReadyAsync(label: "rescueB"));

        const int jobs = 6;
        await cluster.SpawnWorkAsync(jobs, _ => new CrashConfig(DurationMs: 10_000, LaterAttemptDurationMs: 1_000));
        Assert.True(await ClusterHarness.EventuallyAsync(
            async () => await cluster.ScalarAsync<long>("SELECT count(DISTINCT job_id) FROM test_runs") == jobs, TimeSpan.FromSeconds(20)),
            "not all jobs started");

        // The victim: the silo running the most jobs.
        var counts = (await cluster.RowsAsync("SELECT silo, count(*) FROM test_runs GROUP BY silo")).ToDictionary(r => (string)r[0]!, r => (long)r[1]!);
        var victim = silos.OrderByDescending(s => counts.GetValueOrDefault(s.Address!)).First();
        var survivor = silos.Single(s => s != victim);
        var victimJobs = (await cluster.RowsAsync("SELECT job_id FROM test_runs WHERE silo = @s", ("s", victim.Address!))).Select(r => (Guid)r[0]!).ToArray();
        cluster.Log($"runs per silo: {string.Join(", ", counts.Select(kv => $"{kv.Key}={kv.Value}"))}; killing {victim.Label} running {victimJobs.Length} job(s)");

        var killedAt = DateTime.UtcNow;
        victim.Kill9();
        Assert.True(await victim.WaitForExitAsync(TimeSpan.FromSeconds(10)), "the killed silo's process did not exit within 10 s");

        Assert.True(await ClusterHarness.EventuallyAsync(
            async () => await cluster.ScalarAsync<long>("SELECT count(DISTINCT job_id) FROM test_runs WHERE silo = @s AND job_id = ANY(@ids)",
                ("s", survivor.Address!), ("ids", victimJobs)) == victimJobs.Length, TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(100)),
            "the killed silo's jobs did not restart on the survivor within 60 s");
        var declaredDead = await cluster.ScalarAsync<DateTime?>("SELECT max(recorded_at) FROM job_events WHERE event_type = 'silo_lost'");
        var firstRestart = await cluster.ScalarAsync<DateTime>("SELECT min(started_at) FROM test_runs WHERE silo = @s AND job_id = ANY(@ids)", ("s", survivor.Address!), ("ids", victimJobs));
        var lastRestart = await cluster.ScalarAsync<DateTime>("SELECT max(started_at) FROM test_runs WHERE silo = @s AND job_id = ANY(@ids)", ("s", survivor.Address!), ("ids", victimJobs));
        var report = $"RESCUE kill -9 → silo_lost recorded {(declaredDead!.Value.ToUniversalTime() - killedAt).TotalSeconds:F1}s, " +
                     $"→ first restart on the survivor {(firstRestart.ToUniversalTime() - killedAt).TotalSeconds:F1}s, last {(lastRestart.ToUniversalTime() - killedAt).TotalSeconds:F1}s " +
                     "(Job defaults: Orleans membership with ProbeTimeout 3 s)";
        cluster.Log(report);
        File.AppendAllText(Path.Combine(AppContext.BaseDirectory, "rescue-report.txt"), $"{DateTime.UtcNow:O} {report}{Environment.NewLine}");
        Assert.Equal(ClusterHarness.SiloStatusDead, await cluster.MembershipStatusAsync(victim.Address!));
        Assert.True((await cluster.SiloInfoAsync(victim.Address!)).SuspectedByPeers, "the killed silo is not reported as declared dead by its peers");
        Assert.False((await cluster.SiloInfoAsync(survivor.Address!)).SuspectedByPeers);

        Assert.True(await ClusterHarness.EventuallyAsync(() => cluster.AllCompletedAsync(jobs), TimeSpan.FromSeconds(30)), "not all jobs completed");
        var end = await cluster.EndStateAsync();
        cluster.Log(end.ToString());
        Assert.Equal(jobs, end.JobCompletedEvents);
        Assert.Equal(0, end.JobsCompletedTwice);
        Assert.Equal(0, end.LiveExecutions);
        Assert.Equal(victimJobs.Length, end.SiloLostEvents);
        foreach (var id in victimJobs)
        {
            var history = (await cluster.RowsAsync("SELECT event_type, attempt, reason FROM job_events WHERE job_id = @id ORDER BY seq", ("id", id)))
                .Select(r => (Type: (string)r[0]!, Attempt: r[1] as int?, Reason: r[2] as string)).ToList();
            var lost = Assert.Single(history, e => e.Type == "silo_lost");
            Assert.Equal(2, lost.Attempt);
            Assert.Contains(victim.Address!, lost.Reason);
            Assert.Single(history, e => e.Type == "job_completed");
            Assert.Equal(2, history.Single(e => e.Type == "execution_completed").Attempt);
            var runs = await cluster.RowsAsync("SELECT attempt, silo FROM test_runs WHERE job_id = @id ORDER BY started_at", ("id", id));
            Assert.Equal([(1, victim.Address!), (2, survivor.Address!)], runs.Select(r => ((int)r[0]!, (string)r[1]!)).ToArray());
        }

        Assert.False(survivor.HasExited);
    }

    [Fact(Timeout = 240_000)]
    public async Task A_claim_the_dead_silo_committed_after_its_rescue_is_rescued_by_the_leaders_sweep()
    {
        await using var cluster = await ClusterHarness.CreateAsync(await db.CreateDatabaseAsync(), output);
        var victim = await cluster.StartSiloReadyAsync(label: "victim");
        var running = await cluster.SpawnWorkAsync(2, _ => new CrashConfig(DurationMs: 60_000, LaterAttemptDurationMs: 100));
        Assert.True(await ClusterHarness.EventuallyAsync(
            async () => await cluster.ScalarAsync<long>("SELECT count(*) FROM test_runs WHERE silo = @s", ("s", victim.Address!)) == running.Length,
            TimeSpan.FromSeconds(20)), "the victim did not start its jobs");
        var survivor = await cluster.StartSiloReadyAsync(label: "survivor");
        victim.Kill9();
        Assert.True(await victim.WaitForExitAsync(TimeSpan.FromSeconds(10)), "the killed silo's process did not exit within 10 s");

        // The survivor's membership watcher rescues the victim's running jobs when the victim is
        // declared dead, once; its events name the silo without brackets.
        Assert.True(await ClusterHarness.EventuallyAsync(
            async () => await cluster.ScalarAsync<long>("SELECT count(*) FROM job_events WHERE event_type = 'silo_lost' AND reason = @r",
                ("r", $"silo {victim.Address} was declared dead")) == running.Length, TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(100)),
            "the membership watcher did not rescue the killed silo's jobs within 60 s");

        // A claim the victim's last transaction committed after that rescue: running, held by the dead
        // silo, with a fresh heartbeat, so neither the watcher (done with this silo) nor the heartbeat
        // timeout (5 min) moves it. Only the leader's sweep of the claims of dead silos (every 30 s at
        // these settings; the leader moved to the survivor with the victim's death) does.
        var late = await cluster.Work.SpawnAtAsync(JobId.New(), new CrashConfig(), DateTimeOffset.UtcNow.AddHours(1));
        await cluster.ExecuteAsync(
            "UPDATE job_executions SET state = 'running', execute_at = now(), claim_token = nextval('job_claim_tokens'), " +
            "claimed_by = @victim, alive_at = now(), started_at = now() WHERE id = @id",
            ("victim", victim.Address!), ("id", late.Id.Value));
        cluster.Log($"late claim of {late.Id} by dead {victim.Address} written");

        Assert.True(await ClusterHarness.EventuallyAsync(() => cluster.AllCompletedAsync(running.Length + 1), TimeSpan.FromSeconds(90), TimeSpan.FromMilliseconds(200)),
            "the late claim of the dead silo was not rescued and run within 90 s");
        var lost = await cluster.RowsAsync("SELECT attempt, reason FROM job_events WHERE job_id = @id AND event_type = 'silo_lost'", ("id", late.Id.Value));
        var (attempt, reason) = ((int)Assert.Single(lost)[0]!, (string)lost[0][1]!);
        cluster.Log($"late claim rescued: attempt {attempt}, {reason}");
        Assert.Equal(2, attempt);
        Assert.Equal($"its silo was declared dead (silo {victim.Address})", reason); // the sweep's wording
        var runs = await cluster.RowsAsync("SELECT attempt, silo FROM test_runs WHERE job_id = @id", ("id", late.Id.Value));
        Assert.Equal([(2, survivor.Address!)], runs.Select(r => ((int)r[0]!, (string)r[1]!)).ToArray());
        Assert.False(survivor.HasExited);
    }

    [Fact(Timeout = 180_000)]
    public async Task A_serial_queue_whose_head_ran_on_a_killed_silo_goes_on_in_order_one_at_a_time()
    {
        await using var cluster = await ClusterHarness.CreateAsync(await db.CreateDatabaseAsync(), output);
        var victim = await cluster.StartSiloReadyAsync(label: "victim");
        var queue = new List<JobId>();
        for (var i = 0; i < 4; i++)
        {
            // The head runs a minute on its first attempt (the victim is killed in it), 300 ms after.
            var config = i == 0 ? new CrashConfig(DurationMs: 60_000, LaterAttemptDurationMs: 300) : new CrashConfig(DurationMs: 300);
            queue.Add((await cluster.Work.SpawnWithQueueIdAsync(JobId.New(), config, "tenant-7")).Id);
        }

        Assert.True(await ClusterHarness.EventuallyAsync(
            async () => await cluster.ScalarAsync<long>("SELECT count(*) FROM test_runs WHERE job_id = @id", ("id", queue[0].Value)) == 1,
            TimeSpan.FromSeconds(20)), "the victim did not start the queue's head");
        var survivor = await cluster.StartSiloReadyAsync(label: "survivor");
        victim.Kill9();
        Assert.True(await victim.WaitForExitAsync(TimeSpan.FromSeconds(10)), "the killed silo's process did not exit within 10 s");

        Assert.True(await ClusterHarness.EventuallyAsync(() => cluster.AllCompletedAsync(queue.Count), TimeSpan.FromSeconds(90), TimeSpan.FromMilliseconds(200)),
            "the queue did not finish on the survivor within 90 s");
        var runs = (await cluster.RowsAsync("SELECT job_id, attempt, silo, started_at, finished_at FROM test_runs ORDER BY started_at"))
            .Select(r => (Id: new JobId((Guid)r[0]!), Attempt: (int)r[1]!, Silo: (string)r[2]!, Started: (DateTime)r[3]!, Finished: r[4] as DateTime?))
            .ToList();
        cluster.Log("runs: " + string.Join(", ", runs.Select(r => $"{queue.IndexOf(r.Id)}#{r.Attempt}@{r.Silo}")));
        Assert.Equal(
            [(queue[0], 1, victim.Address!), (queue[0], 2, survivor.Address!), (queue[1], 1, survivor.Address!), (queue[2], 1, survivor.Address!), (queue[3], 1, survivor.Address!)],
            runs.Select(r => (r.Id, r.Attempt, r.Silo)).ToArray());
        Assert.Null(runs[0].Finished); // the killed run never finished
        var onSurvivor = runs.Skip(1).ToList();
        Assert.All(onSurvivor.Zip(onSurvivor.Skip(1)), pair => Assert.True(pair.Second.Started >= pair.First.Finished,
            $"job {queue.IndexOf(pair.Second.Id)} started at {pair.Second.Started:O}, before job {queue.IndexOf(pair.First.Id)} finished at {pair.First.Finished:O}"));
        Assert.Equal(0, (await cluster.EndStateAsync()).JobsCompletedTwice);
    }
}
