using Job.Tests.Infrastructure;

namespace Job.Tests.Runtime;

/// <summary>Values at the edge of what a type can hold are either refused up front or saturate:
/// they never overflow inside the runtime, where they would turn into a failed attempt.</summary>
public sealed class ExtremeValueTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    [Fact]
    public async Task RescheduleIn_the_longest_time_span_reschedules_as_late_as_a_date_can_be()
    {
        await using var harness = new JobsHarness(db.ConnectionString);
        var jobs = await harness.StartAsync();
        var init = new TestInitializer($"far-{Guid.NewGuid():N}", (_, _, _) => Task.FromResult(JobCompletion.RescheduleIn(TimeSpan.MaxValue)));
        var spawner = jobs.AddInitializer(init);
        await jobs.StartPollAsync();

        var job = await spawner.SpawnAsync(JobId.New(), new TestConfig());
        await JobsHarness.WaitScheduledAsync(jobs, job.Id, 2);

        var found = await jobs.FindAsync(job.Id);
        Assert.DoesNotContain(found.Events, e => e.Type == JobEventTypes.ExecutionErrored);
        var scheduled = found.Events.Last(e => e.Type == JobEventTypes.ExecutionScheduled);
        Assert.Equal(DateTimeOffset.MaxValue.Year, scheduled.ScheduledAt!.Value.Year);
        Assert.Single(init.Runs);
    }
}
