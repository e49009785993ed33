using Job.TestSilo;
using Job.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Job.Tests.Cluster;

/// <summary>kill -9 the silo holding the cluster's leader, its scheduler: future jobs still start.</summary>
[Collection(ClusterCollection.Name)]
public sealed class SchedulerFailoverTests(DatabaseFixture db, ITestOutputHelper output) : IClassFixture<DatabaseFixture>
{
    private const string SchedulerLine = "The cluster's job scheduler and maintenance run on this silo now.";

    [Fact(Timeout = 180_000)]
    public async Task Scheduled_jobs_start_after_the_silo_holding_the_clusters_scheduler_is_killed()
    {
        await using var cluster = await ClusterHarness.CreateAsync(await db.CreateDatabaseAsync(), output);

        // No safety poll within the test: only the scheduler can start a scheduled job.
        var settings = new Dictionary<string, string> { ["JOB_TEST_MAX_POLL_MS"] = "600000" };
        var silos = await Task.WhenAll(cluster.StartSiloReadyAsync(settings, "schedA"), cluster.StartSiloReadyAsync(settings, "schedB"));
        Assert.True(await ClusterHarness.EventuallyAsync(() => Task.FromResult(silos.Any(s => s.HasLine(SchedulerLine))), TimeSpan.FromSeconds(30)),
            "the cluster's scheduler never started");
        var victim = silos.Single(s => s.HasLine(SchedulerLine));
        var survivor = silos.Single(s => s != victim);

        // The leader's reminder ticks on a fixed grid (its start time plus whole periods), and the survivor
        // would also restore the scheduler at the next tick. Kill just after a tick, so the next one is
        // 45 s or more away: a takeover before it can only come from the membership path.
        var reminder = await ReminderGridAsync(cluster);
        var untilTick = NextTick(reminder, DateTimeOffset.UtcNow) - DateTimeOffset.UtcNow;
        if (untilTick < TimeSpan.FromSeconds(45))
        {
            await Task.Delay(untilTick + TimeSpan.FromSeconds(1));
        }

        // Due from 5 s to 43 s ahead: some fall due before the dead silo is declared dead (about
        // 10 s), the rest after the survivor took the scheduler over.
        const int jobs = 20;
        var start = DateTimeOffset.UtcNow;
        var due = Enumerable.Range(0, jobs).Select(i => start.AddSeconds(5 + (2 * i))).ToArray();
        var specs = due.Select(at => new JobSpec<CrashConfig>(JobId.New(), new CrashConfig()) { ScheduleAt = at }).ToList();
        await cluster.Work.SpawnAllAsync(specs);

        var killedAt = DateTimeOffset.UtcNow;
        victim.Kill9();
        Assert.True(await victim.WaitForExitAsync(TimeSpan.FromSeconds(10)), "the killed silo's process did not exit within 10 s");

        Assert.True(await ClusterHarness.EventuallyAsync(
            async () => await cluster.ScalarAsync<long>("SELECT count(DISTINCT job_id) FROM test_runs") == jobs, TimeSpan.FromSeconds(90), TimeSpan.FromMilliseconds(100)),
            $"not every scheduled job ran: {await cluster.ScalarAsync<long>("SELECT count(DISTINCT job_id) FROM test_runs")} of {jobs}");
        Assert.True(survivor.HasLine(SchedulerLine), "the survivor never took the scheduler over");
        var takenOverAt = new DateTimeOffset(survivor.Lines.First(l => l.Line.Contains(SchedulerLine, StringComparison.Ordinal)).At, TimeSpan.Zero);
        var reminderTick = NextTick(reminder, killedAt);
        Assert.True(takenOverAt < reminderTick.AddSeconds(-1),
            $"the scheduler came back at {takenOverAt:O}, not before the reminder's tick at {reminderTick:O}: the membership path did not restore it");

        var runs = new List<(DateTimeOffset Due, DateTimeOffset Started)>();
        foreach (var (spec, at) in specs.Zip(due))
        {
            var started = await cluster.ScalarAsync<DateTime>("SELECT min(started_at) FROM test_runs WHERE job_id = @id", ("id", spec.Id.Value));
            runs.Add((at, new DateTimeOffset(started.ToUniversalTime(), TimeSpan.Zero)));
        }

        var lags = runs.Select(r => (r.Started - r.Due).TotalMilliseconds).ToList();
        var takeover = survivor.CountLines(l => l.Contains(SchedulerLine, StringComparison.Ordinal));
        var report = $"SCHEDULER FAILOVER kill -9 at +{(killedAt - start).TotalSeconds:F1}s; start lag per job (ms, in due order): " +
                     string.Join(", ", lags.Select(l => l.ToString("F0", System.Globalization.CultureInfo.InvariantCulture))) +
                     $"; jobs due after +15 s: max lag {lags.Skip(5).Max():F0} ms; scheduler back {(takenOverAt - killedAt).TotalSeconds:F1} s after the kill, " +
                     $"{(reminderTick - takenOverAt).TotalSeconds:F0} s before the reminder's tick";
        cluster.Log(report);
        File.AppendAllText(Path.Combine(AppContext.BaseDirectory, "scheduler-failover-report.txt"), $"{DateTime.UtcNow:O} {report}{Environment.NewLine}");

        // Nothing started before it was due (the database's clock and the spawner's are this host's).
        Assert.All(runs, r => Assert.True(r.Started >= r.Due.AddMilliseconds(-50), $"a job due at {r.Due:O} started at {r.Started:O}"));
        Assert.True(takeover >= 1);

        Assert.True(await ClusterHarness.EventuallyAsync(() => cluster.AllCompletedAsync(jobs), TimeSpan.FromSeconds(30)), "not all jobs completed");
        var end = await cluster.EndStateAsync();
        Assert.Equal(jobs, end.JobCompletedEvents);
        Assert.Equal(0, end.JobsCompletedTwice);
    }

    // The leader's reminder as stored by the reminder table (registered when it first activates): its
    // first tick and its period.
    private static async Task<(DateTimeOffset Start, TimeSpan Period)> ReminderGridAsync(ClusterHarness cluster)
    {
        const string Where = "FROM orleans_reminders WHERE reminder_name = 'job-leader' AND grain_id LIKE 'job-leader/%'";
        Assert.True(await ClusterHarness.EventuallyAsync(async () => await cluster.ScalarAsync<long>($"SELECT count(*) {Where}") == 1, TimeSpan.FromSeconds(30)),
            "the leader registered no reminder");
        var startMs = await cluster.ScalarAsync<long>($"SELECT (extract(epoch FROM start_time) * 1000)::bigint {Where}");
        var periodMs = await cluster.ScalarAsync<long>($"SELECT period {Where}");
        return (DateTimeOffset.FromUnixTimeMilliseconds(startMs), TimeSpan.FromMilliseconds(periodMs));
    }

    // The reminder's first tick at or after the given time, as Orleans schedules it.
    private static DateTimeOffset NextTick((DateTimeOffset Start, TimeSpan Period) grid, DateTimeOffset at)
    {
        if (at <= grid.Start)
        {
            return grid.Start;
        }

        var sinceLast = TimeSpan.FromTicks((at - grid.Start).Ticks % grid.Period.Ticks);
        return sinceLast == TimeSpan.Zero ? at : at + (grid.Period - sinceLast);
    }
}
