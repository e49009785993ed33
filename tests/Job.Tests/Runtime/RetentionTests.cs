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
        Assert.NotEmpty(stillWaiting.Events);
        Assert.True((await jobs.FindAsync(recent)).Completed);
        Assert.True(await EventCountAsync(recent) > 0);
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
