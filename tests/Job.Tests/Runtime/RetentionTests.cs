using Job.Grains;
using Job.Tests.Infrastructure;

namespace Job.Tests.Runtime;

/// <summary>History retention: the type's janitor deletes finished jobs older than the retention
/// (application clock) with their history, and nothing that is still pending, running or recent.</summary>
public sealed class RetentionTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    [Fact]
    public async Task Finished_jobs_older_than_the_retention_go_with_their_history_and_nothing_else_does()
    {
        var (clock, controller) = ClockHandle.Artificial(ArtificialClockConfig.Manual());
        await using var harness = new JobsHarness(db.ConnectionString);
        var jobs = await harness.StartAsync(b => b.Clock(clock).HistoryRetention(TimeSpan.FromHours(1)));
        var type = $"retention-{Guid.NewGuid():N}";
        var spawner = jobs.AddInitializer(TestInitializer.Completing(type));
        await jobs.StartPollAsync();

        var completed = (await spawner.SpawnAsync(JobId.New(), new TestConfig())).Id;
        var cancelled = (await spawner.SpawnAtAsync(JobId.New(), new TestConfig(), clock.Now.AddDays(1))).Id;
        var waiting = (await spawner.SpawnAtAsync(JobId.New(), new TestConfig(), clock.Now.AddDays(10))).Id;
        Assert.True((await JobsHarness.EventuallyAsync(() => jobs.FindAsync(completed), j => j.Completed)).Completed);
        Assert.True(await jobs.GrainFactory.GetGrain<IJobGrain>(cancelled.Value).CancelAsync());

        await controller.AdvanceAsync(TimeSpan.FromHours(2));
        var recent = (await spawner.SpawnAsync(JobId.New(), new TestConfig())).Id;
        Assert.True((await JobsHarness.EventuallyAsync(() => jobs.FindAsync(recent), j => j.Completed)).Completed);

        await jobs.GrainFactory.GetGrain<global::Job.Maintenance.IJobLeaderGrain>(0).RunMaintenanceAsync();

        await Assert.ThrowsAsync<JobNotFoundException>(() => jobs.FindAsync(completed));
        await Assert.ThrowsAsync<JobNotFoundException>(() => jobs.FindAsync(cancelled));
        Assert.Equal(0L, await EventCountAsync(completed, cancelled));
        var stillWaiting = await jobs.FindAsync(waiting);
        Assert.False(stillWaiting.Completed);
        // Older than the retention, but its whole history is its current execution's: kept.
        Assert.Equal([JobEventTypes.Initialized, JobEventTypes.ExecutionScheduled], stillWaiting.Events.Select(e => e.Type));
        Assert.True((await jobs.FindAsync(recent)).Completed);
        Assert.True(await EventCountAsync(recent) > 0);
    }

    [Fact]
    public async Task A_job_that_reschedules_itself_keeps_its_first_event_and_the_history_within_the_retention()
    {
        var (clock, controller) = ClockHandle.Artificial(ArtificialClockConfig.Manual());
        await using var harness = new JobsHarness(await db.CreateDatabaseAsync()); // its own: a pass walks every live job
        var jobs = await harness.StartAsync(b => b.Clock(clock).HistoryRetention(TimeSpan.FromHours(1)));
        var init = new TestInitializer($"forever-{Guid.NewGuid():N}", (_, _, _) => Task.FromResult(JobCompletion.RescheduleIn(TimeSpan.FromMinutes(30))));
        var spawner = jobs.AddInitializer(init);
        await jobs.StartPollAsync();
        var spawnedAt = clock.Now;
        var job = (await spawner.SpawnAsync(JobId.New(), new TestConfig())).Id;

        // Runs 30 min apart, each writing execution_completed and the next execution_scheduled. (The
        // leader's own passes may trim meanwhile: the probe is the run and its reschedule, not a count.)
        async Task RunAsync(int run)
        {
            await JobsHarness.EventuallyAsync(() => Task.FromResult(init.Runs.Count), n => n == run);
            await JobsHarness.EventuallyAsync(() => jobs.FindAsync(job), j => j.Events[^1].Type == JobEventTypes.ExecutionScheduled && j.Events[^1].RecordedAt == clock.Now);
        }

        for (var run = 1; run <= 6; run++)
        {
            if (run > 1)
            {
                await controller.AdvanceAsync(TimeSpan.FromMinutes(30));
            }

            await RunAsync(run);
        }

        await jobs.GrainFactory.GetGrain<global::Job.Maintenance.IJobLeaderGrain>(0).RunMaintenanceAsync();

        // 2.5 h after the spawn, with 1 h kept: the first event, then the runs at 1.5, 2 and 2.5 h.
        var events = (await jobs.FindAsync(job)).Events;
        Assert.Equal(JobEventTypes.Initialized, events[0].Type);
        Assert.Equal(spawnedAt, events[0].RecordedAt);
        Assert.Equal(
            [JobEventTypes.ExecutionCompleted, JobEventTypes.ExecutionScheduled, JobEventTypes.ExecutionCompleted, JobEventTypes.ExecutionScheduled,
             JobEventTypes.ExecutionCompleted, JobEventTypes.ExecutionScheduled],
            events.Skip(1).Select(e => e.Type));
        Assert.Equal(
            [90, 90, 120, 120, 150, 150],
            events.Skip(1).Select(e => (int)(e.RecordedAt - spawnedAt).TotalMinutes));

        // It goes on running on its own schedule.
        await controller.AdvanceAsync(TimeSpan.FromMinutes(30));
        await RunAsync(7);
    }

    [Fact]
    public async Task The_trim_walks_every_live_job_and_takes_a_long_history_in_several_statements()
    {
        var (clock, _) = ClockHandle.Artificial(ArtificialClockConfig.Manual());
        var database = await db.CreateDatabaseAsync();
        await using var harness = new JobsHarness(database);
        var jobs = await harness.StartAsync(b => b.Clock(clock).HistoryRetention(TimeSpan.FromHours(1)));
        var spawner = jobs.AddInitializer(TestInitializer.Completing($"walk-{Guid.NewGuid():N}"));

        // 2,500 live jobs (more than two windows) spawned two hours ago, each with two runs since, older than
        // the retention, before its current execution; one with 12,000 more old events (more than a statement
        // reads of one job).
        var ids = (await spawner.SpawnAllAsync(Enumerable.Range(0, 2_500)
                .Select(i => new JobSpec<TestConfig>(JobId.New(), new TestConfig(i)) { ScheduleAt = clock.Now.AddDays(1) }).ToList()))
            .Select(j => j.Id.Value).ToArray();
        var old = clock.Now.AddHours(-2);
        await SqlHelper.ExecuteAsync(database, "UPDATE job_events SET recorded_at = @old WHERE job_id = ANY(@ids)", ("ids", ids), ("old", old)); // spawned two hours ago
        var ticked = ids.Take(10).ToArray(); // spawned by a schedule: their schedule_tick is provenance, kept
        await SqlHelper.ExecuteAsync(database,
            "INSERT INTO job_events (job_id, event_type, reason, recorded_at) SELECT id, 'schedule_tick', 'nightly', @old FROM unnest(@ids) AS id",
            ("ids", ticked), ("old", old));
        const string oldRun = "INSERT INTO job_events (job_id, event_type, attempt, recorded_at) SELECT id, t, 1, @old FROM unnest(@ids) AS id, unnest(ARRAY['execution_completed', 'execution_scheduled']) AS t";
        await SqlHelper.ExecuteAsync(database, oldRun, ("ids", ids), ("old", old));
        await SqlHelper.ExecuteAsync(database,
            "INSERT INTO job_events (job_id, event_type, attempt, recorded_at) SELECT @id, 'execution_completed', 1, @old FROM generate_series(1, 12000)",
            ("id", ids[1_234]), ("old", old));
        await SqlHelper.ExecuteAsync(database, oldRun, ("ids", ids), ("old", old));
        await SqlHelper.ExecuteAsync(database,
            "INSERT INTO job_events (job_id, event_type, attempt, scheduled_at, recorded_at) SELECT id, 'execution_scheduled', 1, @at, @now FROM unnest(@ids) AS id",
            ("ids", ids), ("at", clock.Now.AddDays(1)), ("now", clock.Now));

        // A pass runs ten statements at most: the long history takes more, and the next pass goes on.
        async Task<long> OldAsync() => await SqlHelper.ScalarAsync<long>(database,
            "SELECT count(*) FROM job_events WHERE job_id = ANY(@ids) AND recorded_at < @old + interval '1 minute'", ("ids", ids), ("old", old));
        var passes = 0;
        while (await OldAsync() > (2 * ids.Length) + ticked.Length && passes < 5)
        {
            await jobs.GrainFactory.GetGrain<global::Job.Maintenance.IJobLeaderGrain>(0).RunMaintenanceAsync();
            passes++;
        }

        // Each keeps its initialized and its last two executions' (the old run's execution_scheduled, the
        // current one): of the old, two each, and the ten schedule_tick events.
        Assert.Equal((2 * ids.Length) + ticked.Length, await OldAsync());
        Assert.Equal((3L * ids.Length) + ticked.Length, await SqlHelper.ScalarAsync<long>(database, "SELECT count(*) FROM job_events WHERE job_id = ANY(@ids)", ("ids", ids)));
        Assert.InRange(passes, 1, 5);
    }

    [Fact]
    public async Task Without_a_retention_finished_jobs_stay()
    {
        var (clock, controller) = ClockHandle.Artificial(ArtificialClockConfig.Manual());
        await using var harness = new JobsHarness(db.ConnectionString);
        var jobs = await harness.StartAsync(b => b.Clock(clock));
        var type = $"no-retention-{Guid.NewGuid():N}";
        var spawner = jobs.AddInitializer(TestInitializer.Completing(type));
        await jobs.StartPollAsync();

        var done = (await spawner.SpawnAsync(JobId.New(), new TestConfig())).Id;
        Assert.True((await JobsHarness.EventuallyAsync(() => jobs.FindAsync(done), j => j.Completed)).Completed);
        await controller.AdvanceAsync(TimeSpan.FromDays(365));
        await jobs.GrainFactory.GetGrain<global::Job.Maintenance.IJobLeaderGrain>(0).RunMaintenanceAsync();

        Assert.True((await jobs.FindAsync(done)).Completed);
    }

    [Fact]
    public void A_retention_below_one_second_is_refused_with_its_name()
    {
        var builder = Assert.Throws<ArgumentException>(() => JobSvcConfig.Builder().PgCon("Host=x").HistoryRetention(TimeSpan.Zero).Build());
        Assert.Contains("HistoryRetention", builder.Message);
        var options = new JobsOptions { ConnectionString = "Host=x", HistoryRetention = TimeSpan.FromSeconds(-5) };
        Assert.Contains("JobsOptions.HistoryRetention", Assert.Throws<ArgumentException>(options.Validate).Message);
    }

    private async Task<long> EventCountAsync(params JobId[] ids) =>
        await SqlHelper.ScalarAsync<long>(db.ConnectionString, "SELECT count(*) FROM job_events WHERE job_id = ANY(@ids)",
            ("ids", ids.Select(id => id.Value).ToArray()));
}
