using System.Diagnostics;
using System.Globalization;
using Job.TestSilo;
using Npgsql;
using Xunit.Abstractions;

namespace Job.Tests.Cluster;

/// <summary>
/// (f) Three silo processes, 20,000 jobs spawned from the test process while silos are killed with
/// kill -9 and restarted over and over, and PostgreSQL is restarted once. Every job must end
/// completed exactly once; repeated runs are counted and reported, not forbidden (at least once).
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class ChaosTests(DedicatedPostgres pg, ITestOutputHelper output) : IClassFixture<DedicatedPostgres>
{
    private const int Jobs = 20_000;
    private const int SiloCount = 3;

    [Fact(Timeout = 330_000)]
    public async Task Twenty_thousand_jobs_survive_kills_restarts_and_a_database_restart()
    {
        var total = Stopwatch.StartNew();
        await using var cluster = await ClusterHarness.CreateAsync(await pg.CreateDatabaseAsync(), output);
        var settings = new Dictionary<string, string>
        {
            ["JOB_TEST_LOST_INTERVAL_MS"] = "10000",
            // Faster failure detection than the defaults (~17 s): ~2 s probes, 3 misses.
            ["JOB_TEST_MEMBERSHIP_PROBE_TIMEOUT_MS"] = "2000",
        };
        var slots = new SiloProcess[SiloCount];
        var generation = 0;
        SiloProcess StartSlot(int i) => slots[i] = cluster.StartSilo(settings, $"chaos{i + 1}-{++generation}");
        for (var i = 0; i < SiloCount; i++)
        {
            StartSlot(i);
        }

        foreach (var s in slots)
        {
            await s.WaitReadyAsync(ClusterHarness.ReadyTimeout);
        }

        cluster.Log("3 silos ready; chaos starts");

        // The spawner: 20,000 jobs in batches, spread over ~40 s, retried across the database restart.
        var spawned = 0;
        var spawner = Task.Run(async () =>
        {
            var random = new Random(7);
            const int batch = 500;
            for (var offset = 0; offset < Jobs; offset += batch)
            {
                var specs = Enumerable.Range(0, batch).Select(_ => new JobSpec<CrashConfig>(JobId.New(), new CrashConfig(DurationMs: random.Next(0, 21)))).ToList();
                var ids = specs.Select(s => s.Id.Value).ToArray();
                while (true)
                {
                    try
                    {
                        await cluster.Work.SpawnAllAsync(specs);
                        break;
                    }
                    catch (Exception ex) when (ex is NpgsqlException or DuplicateJobIdException or InvalidOperationException)
                    {
                        // All or nothing: if the batch did commit (the reply was lost), it is done.
                        await Task.Delay(500);
                        try
                        {
                            if (await cluster.ScalarAsync<long>("SELECT count(*) FROM jobs WHERE id = ANY(@ids)", ("ids", ids)) == ids.Length)
                            {
                                break;
                            }
                        }
                        catch (NpgsqlException)
                        {
                        }
                    }
                }

                Interlocked.Add(ref spawned, batch);
                await Task.Delay(1000);
            }
        });

        // The chaos: every 4-6 s kill -9 a random silo and start a new one in its place; restart
        // PostgreSQL once; replace any silo that died on its own.
        var chaosRandom = new Random(11);
        var kills = 0;
        var selfExits = 0;
        var pgRestarted = false;
        var chaosUntil = TimeSpan.FromSeconds(150);
        var chaosClock = Stopwatch.StartNew();
        while (chaosClock.Elapsed < chaosUntil)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(chaosRandom.Next(4000, 6000)));
            for (var i = 0; i < SiloCount; i++)
            {
                if (slots[i].HasExited)
                {
                    selfExits++;
                    cluster.Log($"{slots[i].Label} exited on its own (code {slots[i].ExitCode}); replacing it");
                    StartSlot(i);
                }
            }

            var done = spawner.IsCompleted && await SafeCompletedAsync(cluster) >= Jobs;
            if (done && kills >= 6 && pgRestarted)
            {
                break;
            }

            if (!pgRestarted && chaosClock.Elapsed > TimeSpan.FromSeconds(20))
            {
                pgRestarted = true;
                await pg.RestartAsync(TimeSpan.FromSeconds(3), cluster.Log);
                continue;
            }

            // One failure at a time: kill only while every silo is up (ready). Killing the last Active silo
            // while the others are still joining stalls Orleans until the dead silo's IAmAlive goes stale
            // (~90 s with the defaults): joining silos validate connectivity with it and cannot vote.
            if (slots.Any(s => s.Address is null || s.HasExited))
            {
                continue;
            }

            var victim = chaosRandom.Next(SiloCount);

            slots[victim].Kill9();
            kills++;
            cluster.Log($"kill -9 {slots[victim].Label} (kill #{kills}); completed so far {await SafeCompletedAsync(cluster)}, spawned {Volatile.Read(ref spawned)}");
            StartSlot(victim);
        }

        await spawner.WaitAsync(TimeSpan.FromSeconds(60));
        cluster.Log($"chaos over after {chaosClock.Elapsed.TotalSeconds:F0}s: {kills} kills, {selfExits} self-exits, PostgreSQL restarted={pgRestarted}");

        // Let the survivors finish.
        for (var i = 0; i < SiloCount; i++)
        {
            if (slots[i].HasExited)
            {
                StartSlot(i);
            }
        }

        Assert.True(await ClusterHarness.EventuallyAsync(
            async () => await cluster.AllCompletedAsync(Jobs) && await cluster.ScalarAsync<long>("SELECT count(*) FROM job_executions") == 0,
            TimeSpan.FromSeconds(90), TimeSpan.FromSeconds(1)),
            $"not everything completed 90 s after the chaos: {await cluster.EndStateAsync()}");

        var end = await cluster.EndStateAsync();
        var perAttempt = await cluster.RowsAsync("SELECT runs, count(*) FROM (SELECT job_id, count(*) AS runs FROM test_runs GROUP BY job_id) x GROUP BY runs ORDER BY runs");
        var refused = cluster.Silos.Sum(s => s.CountLines(l => l.Contains("was refused because the job was handed to another runner", StringComparison.Ordinal)));
        var undispatched = cluster.Silos.Sum(s => s.CountLines(l => l.Contains("could not be handed to its job grain", StringComparison.Ordinal)));
        var report = string.Join(Environment.NewLine,
            $"CHAOS REPORT {DateTime.UtcNow:O}",
            $"jobs spawned={Jobs} completed={end.Completed} job_completed events={end.JobCompletedEvents} completed twice={end.JobsCompletedTwice} live executions={end.LiveExecutions}",
            $"runs (test_runs rows)={end.Runs} distinct jobs run={end.JobsRun} REPEATED EXECUTIONS={end.RepeatedRuns} ({100.0 * end.RepeatedRuns / Jobs:F2}% of jobs)",
            $"runs per job: {string.Join(", ", perAttempt.Select(r => $"{r[0]}x={r[1]}"))}",
            $"silo_lost events={end.SiloLostEvents} job_lost events={end.JobLostEvents} execution_aborted={end.AbortedEvents} execution_errored={end.FailedEvents} refused stale writes logged={refused} claims not handed to their grain={undispatched}",
            $"kill -9={kills} silo self-exits={selfExits} silo processes started={cluster.Silos.Count} PostgreSQL restarts={(pgRestarted ? 1 : 0)}",
            $"total test time={total.Elapsed.TotalSeconds:F0}s",
            $"logs: {cluster.LogDirectory}");
        cluster.Log(report);
        File.WriteAllText(Path.Combine(AppContext.BaseDirectory, "chaos-report.txt"), report + Environment.NewLine);

        Assert.Equal(Jobs, end.Jobs);
        Assert.Equal(Jobs, end.Completed);
        Assert.Equal(0, end.NotCompleted);
        Assert.Equal(Jobs, end.JobCompletedEvents);
        Assert.Equal(0, end.JobsCompletedTwice);
        Assert.Equal(0, end.LiveExecutions);
        Assert.Equal(Jobs, end.JobsRun);
        Assert.True(kills >= 3, $"only {kills} kills happened");

        // A claim goes to its job grain on the claiming silo, through no other silo: a dead one
        // cannot make it fail. With the default grain directory 1,879 did in one run; a silo that
        // learns it was declared dead while dispatching may still fail a few, which is safe.
        Assert.True(undispatched < 100, $"{undispatched} claims could not be handed to their job grain");
        Assert.True(pgRestarted);
    }

    private static async Task<long> SafeCompletedAsync(ClusterHarness cluster)
    {
        try
        {
            return await cluster.ScalarAsync<long>("SELECT count(*) FROM jobs WHERE terminal_state = 'completed'");
        }
        catch (NpgsqlException)
        {
            return -1;
        }
    }
}
