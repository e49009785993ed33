using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Cronos;
using Job.TestSilo;
using Job.Tests.Infrastructure;
using Npgsql;
using Xunit.Abstractions;

namespace Job.Tests.Cluster;

/// <summary>
/// Issue 13.3: three silo processes declare two recurring schedules (every 2 s, overlaps allowed;
/// every 3 s, queued) and two limited job types (at most 3 running, declared at registration; at most
/// 10 starts a second, declared by the initializer), while silos are killed with kill -9 (the leader
/// among them) and restarted. Sampled from the database during the run, no limit is ever exceeded; at
/// the end every tick of the run has exactly one job, each completed exactly once, and the queued
/// schedule's runs never overlapped.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class ScheduleAndLimitChaosTests(DatabaseFixture db, ITestOutputHelper output) : IClassFixture<DatabaseFixture>
{
    private const string LeaderLine = "The cluster's job scheduler and maintenance run on this silo now.";
    private const int SiloCount = 3;
    private static readonly TimeSpan s_chaos = TimeSpan.FromSeconds(90);

    [Fact(Timeout = 330_000)]
    public async Task Limits_hold_and_every_tick_runs_once_while_silos_are_killed_and_restarted()
    {
        var total = Stopwatch.StartNew();
        await using var cluster = await ClusterHarness.CreateAsync(await db.CreateDatabaseAsync(), output);
        var settings = new Dictionary<string, string>
        {
            ["JOB_TEST_SCHEDULES"] = "1",
            ["JOB_TEST_LOST_INTERVAL_MS"] = "10000",
            ["JOB_TEST_MEMBERSHIP_PROBE_TIMEOUT_MS"] = "2000",
            ["JOB_TEST_MAX_JOBS"] = "20",
            ["JOB_TEST_MIN_JOBS"] = "10",
        };
        var slots = new SiloProcess[SiloCount];
        var generation = 0;
        SiloProcess StartSlot(int i) => slots[i] = cluster.StartSilo(settings, $"tick{i + 1}-{++generation}");
        for (var i = 0; i < SiloCount; i++)
        {
            StartSlot(i);
        }

        foreach (var s in slots)
        {
            await s.WaitReadyAsync(ClusterHarness.ReadyTimeout);
        }

        // The limits declared in code are in force, applied by the silos' start.
        var flow = new JobFlowControl(cluster.Runtime.Context);
        var limited = (await flow.GetAsync(new JobType("crash.limited")))!;
        var rated = (await flow.GetAsync(new JobType("crash.rated")))!;
        Assert.Equal((CrashLimitedJob.MaxRunning, "code"), (limited.MaxRunning, limited.UpdatedBy));
        Assert.Equal(new JobRateLimit(CrashRatedJob.Starts, CrashRatedJob.Period), rated.RateLimit);
        cluster.Log("3 silos ready, limits in force; chaos starts");

        // Sampler: the running count of the limited type, from the database, every 50 ms.
        using var stop = new CancellationTokenSource();
        var samples = new ConcurrentQueue<long>();
        var sampler = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    samples.Enqueue(await cluster.ScalarAsync<long>("SELECT count(*) FROM job_executions WHERE job_type = 'crash.limited' AND state = 'running'"));
                }
                catch (NpgsqlException)
                {
                }

                await Task.Delay(50, CancellationToken.None);
            }
        });

        // Spawner: each second 6 limited jobs of 300 ms (the limit keeps them queued) and 12 rated ones
        // (more than the rate allows), so both limits bind.
        var limitedSpawner = new JobSpawner<CrashConfig>(new JobType("crash.limited"), cluster.Runtime.Context);
        var ratedSpawner = new JobSpawner<CrashConfig>(new JobType("crash.rated"), cluster.Runtime.Context);
        var spawned = (Limited: 0, Rated: 0);
        var chaosClock = Stopwatch.StartNew();
        var spawner = Task.Run(async () =>
        {
            while (chaosClock.Elapsed < s_chaos - TimeSpan.FromSeconds(20))
            {
                await limitedSpawner.SpawnAllAsync(Enumerable.Range(0, 6).Select(_ => new JobSpec<CrashConfig>(JobId.New(), new CrashConfig(DurationMs: 300))));
                await ratedSpawner.SpawnAllAsync(Enumerable.Range(0, 12).Select(_ => new JobSpec<CrashConfig>(JobId.New(), new CrashConfig())));
                spawned = (spawned.Limited + 6, spawned.Rated + 12);
                await Task.Delay(1000);
            }
        });

        // Chaos: one failure at a time (every silo ready before the next kill), every other kill the
        // silo holding the cluster's leader (and with it the schedule ticker).
        var kills = 0;
        var leaderKills = 0;
        var random = new Random(13);
        while (chaosClock.Elapsed < s_chaos)
        {
            foreach (var s in slots)
            {
                await s.WaitReadyAsync(ClusterHarness.ReadyTimeout);
            }

            await Task.Delay(TimeSpan.FromMilliseconds(random.Next(3000, 6000)));
            var leader = LeaderSlot(slots);
            var victim = kills % 2 == 0 && leader is { } l ? l : random.Next(SiloCount);
            leaderKills += victim == leader ? 1 : 0;
            slots[victim].Kill9();
            kills++;
            cluster.Log($"kill -9 {slots[victim].Label}{(victim == leader ? " (the leader)" : "")}, kill #{kills}");
            StartSlot(victim);
        }

        await spawner;
        foreach (var s in slots)
        {
            await s.WaitReadyAsync(ClusterHarness.ReadyTimeout);
        }

        var end = await cluster.ScalarAsync<DateTime>("SELECT now()");
        var endTick = new DateTimeOffset(end.ToUniversalTime(), TimeSpan.Zero);
        cluster.Log($"chaos over after {chaosClock.Elapsed.TotalSeconds:F0}s: {kills} kills ({leaderKills} of the leader); spawned {spawned}");

        // Everything spawned completes, and every tick up to the end of the chaos has its job completed.
        var flowJobs = spawned.Limited + spawned.Rated;
        Assert.True(await ClusterHarness.EventuallyAsync(
            async () => await cluster.ScalarAsync<long>("SELECT count(*) FROM jobs WHERE job_type IN ('crash.limited', 'crash.rated') AND terminal_state = 'completed'") == flowJobs,
            TimeSpan.FromSeconds(120), TimeSpan.FromSeconds(1)), "not every limited job completed");
        var schedules = new[] { TestSchedules.EveryTwoSeconds, TestSchedules.QueuedEveryThreeSeconds };
        var expected = new Dictionary<string, List<DateTimeOffset>>();
        foreach (var schedule in schedules)
        {
            var first = await cluster.ScalarAsync<DateTime>("SELECT min(tick) FROM job_schedule_ticks WHERE schedule = @s", ("s", schedule.Name));
            expected[schedule.Name] = [.. CronExpression.Parse(schedule.Cron, CronFormat.IncludeSeconds)
                .GetOccurrences(new DateTimeOffset(first.ToUniversalTime(), TimeSpan.Zero), endTick, TimeZoneInfo.Utc, fromInclusive: true, toInclusive: true)];
            Assert.True(await ClusterHarness.EventuallyAsync(
                async () => await cluster.ScalarAsync<long>("""
                    SELECT count(*) FROM job_schedule_ticks t JOIN jobs j ON j.id = t.job_id
                    WHERE t.schedule = @s AND t.tick <= @end AND j.terminal_state = 'completed'
                    """, ("s", schedule.Name), ("end", end)) >= expected[schedule.Name].Count,
                TimeSpan.FromSeconds(120), TimeSpan.FromSeconds(1)), $"the ticks of {schedule.Name} did not all complete");
        }

        await stop.CancelAsync();
        await sampler;

        // Limits, as sampled during the run and as the runs' start times show.
        var maxRunning = samples.Max();
        var starts = (await cluster.RowsAsync("""
            SELECT extract(epoch FROM r.started_at)::float8 FROM test_runs r JOIN jobs j ON j.id = r.job_id
            WHERE j.job_type = 'crash.rated' ORDER BY r.started_at
            """)).Select(r => Convert.ToDouble(r[0], CultureInfo.InvariantCulture)).ToArray();
        var worstRate = WorstRateExcess(starts, CrashRatedJob.Starts, CrashRatedJob.Period.TotalSeconds, claimToStart: 2.0);

        // Ticks: exactly the expression's, each with one job, each job completed once.
        var report = new List<string>
        {
            $"SCHEDULE+LIMIT CHAOS REPORT {DateTime.UtcNow:O}",
            $"kill -9={kills} (leader {leaderKills}), silo processes started={cluster.Silos.Count}, chaos {s_chaos.TotalSeconds:F0}s, total {total.Elapsed.TotalSeconds:F0}s",
            $"crash.limited: MaxRunning {CrashLimitedJob.MaxRunning}, {samples.Count} samples of running, max {maxRunning}; jobs {spawned.Limited}",
            $"crash.rated: {CrashRatedJob.Starts}/{CrashRatedJob.Period.TotalSeconds:0}s, {starts.Length} starts over {(starts.Length > 1 ? starts[^1] - starts[0] : 0):F1}s, worst window excess over the token-bucket bound {worstRate:F1}; jobs {spawned.Rated}",
        };
        foreach (var schedule in schedules)
        {
            var rows = await cluster.RowsAsync("""
                SELECT t.tick, t.outcome, t.job_id, j.terminal_state,
                       (SELECT count(*) FROM job_events e WHERE e.job_id = t.job_id AND e.event_type = 'job_completed'),
                       (SELECT count(*) FROM test_runs r WHERE r.job_id = t.job_id)
                FROM job_schedule_ticks t LEFT JOIN jobs j ON j.id = t.job_id
                WHERE t.schedule = @s AND t.tick <= @end ORDER BY t.tick
                """, ("s", schedule.Name), ("end", end));
            var ticks = rows.Select(r => new DateTimeOffset(((DateTime)r[0]!).ToUniversalTime(), TimeSpan.Zero)).ToList();
            Assert.Equal(expected[schedule.Name], ticks);
            Assert.All(rows, r => Assert.Equal("spawned", r[1]));
            Assert.All(rows, r => Assert.Equal("completed", r[3]));
            Assert.All(rows, r => Assert.Equal(1L, Convert.ToInt64(r[4], CultureInfo.InvariantCulture)));
            Assert.Equal(rows.Count, rows.Select(r => r[2]).Distinct().Count());
            var repeated = rows.Count(r => Convert.ToInt64(r[5], CultureInfo.InvariantCulture) > 1);
            report.Add($"{schedule.Name}: {rows.Count} ticks from {ticks[0]:HH:mm:ss} to {ticks[^1]:HH:mm:ss}, each one job completed once; jobs run more than once (rescued from a killed silo) {repeated}");
        }

        // The queued schedule's finished runs never overlapped.
        var queued = (await cluster.RowsAsync("""
            SELECT r.started_at, r.finished_at FROM test_runs r JOIN job_schedule_ticks t ON t.job_id = r.job_id
            WHERE t.schedule = @s AND r.finished_at IS NOT NULL ORDER BY r.started_at
            """, ("s", TestSchedules.QueuedEveryThreeSeconds.Name))).Select(r => ((DateTime)r[0]!, (DateTime)r[1]!)).ToList();
        var overlaps = queued.Zip(queued.Skip(1)).Count(p => p.Second.Item1 < p.First.Item2);
        report.Add($"{TestSchedules.QueuedEveryThreeSeconds.Name}: {queued.Count} finished runs, overlapping {overlaps}");
        var text = string.Join(Environment.NewLine, report);
        cluster.Log(text);
        File.WriteAllText(Path.Combine(AppContext.BaseDirectory, "schedule-chaos-report.txt"), text + Environment.NewLine);

        Assert.True(maxRunning <= CrashLimitedJob.MaxRunning, $"{maxRunning} crash.limited jobs ran at once (limit {CrashLimitedJob.MaxRunning})");
        Assert.True(samples.Count(n => n == CrashLimitedJob.MaxRunning) > 10, "the concurrency limit never bound: the test proves nothing");
        Assert.True(worstRate <= 0, $"crash.rated started {worstRate:F1} more than its rate allows in some window");
        Assert.Equal(0, overlaps);
        Assert.True(kills >= 4 && leaderKills >= 2, $"only {kills} kills ({leaderKills} of the leader)");
    }

    // The slot whose live silo took the leader over last.
    private static int? LeaderSlot(SiloProcess[] slots)
    {
        int? leader = null;
        var latest = DateTime.MinValue;
        for (var i = 0; i < slots.Length; i++)
        {
            if (slots[i].HasExited)
            {
                continue;
            }

            foreach (var (at, line) in slots[i].Lines)
            {
                if (at > latest && line.Contains(LeaderLine, StringComparison.Ordinal))
                {
                    latest = at;
                    leader = i;
                }
            }
        }

        return leader;
    }

    // A token bucket of `starts` per `period`, starting full, allows at most starts + rate × (b − a)
    // claims in any window [a, b]. A run's start is its claim plus a dispatch delay of up to
    // `claimToStart` s, so starts in [a, b] had their claims in [a − claimToStart, b]. Returns the
    // largest excess over that bound (≤ 0: never exceeded).
    private static double WorstRateExcess(double[] starts, int allowed, double period, double claimToStart)
    {
        var worst = double.NegativeInfinity;
        for (var i = 0; i < starts.Length; i++)
        {
            for (var j = i; j < starts.Length; j++)
            {
                var bound = allowed + (allowed / period * (starts[j] - starts[i] + claimToStart));
                worst = Math.Max(worst, j - i + 1 - bound);
            }
        }

        return starts.Length == 0 ? 0 : worst;
    }
}
