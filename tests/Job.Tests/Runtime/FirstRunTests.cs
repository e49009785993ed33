using Job.Tests.Infrastructure;

namespace Job.Tests.Runtime;

public sealed class FirstRunTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    [Fact]
    public async Task Crate26_test_create_and_run_job()
    {
        await using var harness = new JobsHarness(db.ConnectionString);
        var jobs = await harness.StartAsync();
        var init = TestInitializer.Completing("first-run");
        var spawner = jobs.AddInitializer(init);
        await jobs.StartPollAsync();

        var job = await spawner.SpawnAsync(JobId.New(), new TestConfig(42));
        var found = await JobsHarness.EventuallyAsync(() => jobs.FindAsync(job.Id), j => j.Completed, TimeSpan.FromSeconds(30));

        Assert.True(found.Completed);
        Assert.Equal(JobTerminalState.Completed, found.TerminalState);
        Assert.Equal(42, found.Config<TestConfig>().Value);
        Assert.Equal(
            [JobEventTypes.Initialized, JobEventTypes.ExecutionScheduled, JobEventTypes.ExecutionCompleted, JobEventTypes.JobCompleted],
            found.Events.Select(e => e.Type));
        Assert.Single(init.Runs);
    }
}
