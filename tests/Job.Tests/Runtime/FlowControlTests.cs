using System.Collections.Concurrent;
using Job.Tests.Infrastructure;

namespace Job.Tests.Runtime;

/// <summary>
/// Flow control changed at run time through the public API, against real silos: a paused type waits
/// until resumed, a concurrency limit holds across two silos and a raised one applies at once, a rate
/// limit lets only its bucket start, a serial queue's limit lets that many run. "Does not start" is
/// shown against a control job of another type spawned after it, which does start and finish.
/// </summary>
public sealed class FlowControlTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    private static string NewType(string prefix) => $"flow-{prefix}-{Guid.NewGuid():N}";

    [Fact]
    public async Task A_paused_type_is_not_claimed_until_resumed()
    {
        await using var harness = new JobsHarness(db.ConnectionString);
        var jobs = await harness.StartAsync();
        var paused = jobs.AddInitializer(TestInitializer.Completing(NewType("paused")));
        var control = jobs.AddInitializer(TestInitializer.Completing(NewType("control")));
        await jobs.StartPollAsync();

        var settings = await jobs.FlowControl.PauseAsync(paused.JobType, "operator-1");
        Assert.True(settings.Paused);
        Assert.Equal("operator-1", settings.UpdatedBy);
        var waiting = await paused.SpawnAsync(JobId.New(), new TestConfig());
        await AssertControlJobRunsAsync(jobs, control);
        Assert.Equal(JobStatus.Pending, (await jobs.Client.GetStatusAsync(waiting.Id)).Status);

        Assert.False((await jobs.FlowControl.ResumeAsync(paused.JobType)).Paused);
        await JobsHarness.EventuallyAsync(() => jobs.FindAsync(waiting.Id), j => j.Completed);
        Assert.False((await jobs.FlowControl.GetAsync(paused.JobType))!.Paused);
    }

    [Fact]
    public async Task A_concurrency_limit_holds_across_silos_and_a_raised_limit_applies_at_once()
    {
        await using var harness = new JobsHarness(db.ConnectionString);
        var first = await harness.StartAsync();
        var second = await harness.StartAsync();
        var type = NewType("limited");
        var (started, release) = (new ConcurrentQueue<JobId>(), new TaskCompletionSource());
        TestInitializer Gated() => new(type, async (job, _, _) =>
        {
            started.Enqueue(job.Id);
            await release.Task;
            return JobCompletion.Complete();
        });
        var spawner = first.AddInitializer(Gated());
        second.AddInitializer(Gated());
        var control = first.AddInitializer(TestInitializer.Completing(NewType("control")));
        second.AddInitializer(TestInitializer.Completing(control.JobType.Name));
        await first.FlowControl.SetConcurrencyLimitAsync(spawner.JobType, 2);
        await Task.WhenAll(first.StartPollAsync(), second.StartPollAsync());

        var ids = new List<JobId>();
        for (var i = 0; i < 6; i++)
        {
            ids.Add((await spawner.SpawnAsync(JobId.New(), new TestConfig(i))).Id);
        }

        await JobsHarness.EventuallyAsync(() => Task.FromResult(started.Count), n => n >= 2);
        await AssertControlJobRunsAsync(first, control);
        Assert.Equal(2, started.Count);
        Assert.Equal(2L, await RunningAsync(type));

        await second.FlowControl.SetConcurrencyLimitAsync(spawner.JobType, 4);
        await JobsHarness.EventuallyAsync(() => Task.FromResult(started.Count), n => n >= 4);
        await AssertControlJobRunsAsync(first, control);
        Assert.Equal(4, started.Count);

        release.SetResult();
        foreach (var id in ids)
        {
            await JobsHarness.EventuallyAsync(() => first.FindAsync(id), j => j.Completed);
        }

        Assert.Equal(6, started.Count);
    }

    [Fact]
    public async Task A_rate_limit_starts_only_its_bucket_and_removing_it_lets_the_rest_start()
    {
        await using var harness = new JobsHarness(db.ConnectionString);
        var jobs = await harness.StartAsync();
        var limited = jobs.AddInitializer(TestInitializer.Completing(NewType("rated")));
        var control = jobs.AddInitializer(TestInitializer.Completing(NewType("control")));
        var settings = await jobs.FlowControl.SetRateLimitAsync(limited.JobType, new JobRateLimit(3, TimeSpan.FromHours(1)));
        Assert.Equal(new JobRateLimit(3, TimeSpan.FromHours(1)), settings.RateLimit);
        await jobs.StartPollAsync();

        var ids = new List<JobId>();
        for (var i = 0; i < 5; i++)
        {
            ids.Add((await limited.SpawnAsync(JobId.New(), new TestConfig(i))).Id);
        }

        await JobsHarness.EventuallyAsync(() => CompletedAsync(jobs, ids), n => n >= 3);
        await AssertControlJobRunsAsync(jobs, control);
        Assert.Equal(3, await CompletedAsync(jobs, ids));

        Assert.Null((await jobs.FlowControl.SetRateLimitAsync(limited.JobType, null)).RateLimit);
        await JobsHarness.EventuallyAsync(() => CompletedAsync(jobs, ids), n => n == 5);
    }

    [Fact]
    public async Task A_serial_queue_limit_runs_that_many_of_the_queue_at_once_in_due_order()
    {
        await using var harness = new JobsHarness(db.ConnectionString);
        var jobs = await harness.StartAsync();
        var started = new ConcurrentQueue<int>();
        var release = new TaskCompletionSource();
        var spawner = jobs.AddInitializer(new TestInitializer(NewType("tenant"), async (_, config, _) =>
        {
            started.Enqueue(config.Value);
            await release.Task;
            return JobCompletion.Complete();
        }));
        var control = jobs.AddInitializer(TestInitializer.Completing(NewType("control")));
        var queue = $"tenant-{Guid.NewGuid():N}";
        Assert.Equal(1, await jobs.FlowControl.GetQueueLimitAsync(queue));
        await jobs.FlowControl.SetQueueLimitAsync(queue, 2);
        Assert.Equal(2, await jobs.FlowControl.GetQueueLimitAsync(queue));
        await jobs.StartPollAsync();

        var now = jobs.Clock.Now;
        var specs = Enumerable.Range(0, 4)
            .Select(i => new JobSpec<TestConfig>(JobId.New(), new TestConfig(i)) { QueueId = queue, ScheduleAt = now.AddMilliseconds(i - 100) })
            .ToList();
        await spawner.SpawnAllAsync(specs);

        await JobsHarness.EventuallyAsync(() => Task.FromResult(started.Count), n => n >= 2);
        await AssertControlJobRunsAsync(jobs, control);
        Assert.Equal([0, 1], started.Order());

        await jobs.FlowControl.SetQueueLimitAsync(queue, 3);
        await JobsHarness.EventuallyAsync(() => Task.FromResult(started.Count), n => n >= 3);
        Assert.Equal([0, 1, 2], started.Order());
        release.SetResult();
        await JobsHarness.EventuallyAsync(() => CompletedAsync(jobs, specs.Select(s => s.Id).ToList()), n => n == 4);

        await jobs.FlowControl.SetQueueLimitAsync(queue, null);
        Assert.Equal(1, await jobs.FlowControl.GetQueueLimitAsync(queue));
    }

    [Fact]
    public async Task Bad_limits_are_refused_with_named_errors_and_nothing_is_written()
    {
        await using var client = JobClient.Create(new JobClientOptions { ConnectionString = db.ConnectionString });
        await client.MigrateAsync();
        var type = new JobType(NewType("bad"));

        var zero = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => client.FlowControl.SetConcurrencyLimitAsync(type, 0));
        Assert.Equal("maxRunning", zero.ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => new JobRateLimit(0, TimeSpan.FromMinutes(1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new JobRateLimit(10, TimeSpan.FromMilliseconds(10)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new JobRateLimit(10, TimeSpan.MaxValue));
        await Assert.ThrowsAsync<ArgumentException>(() => client.FlowControl.SetQueueLimitAsync("", 2));
        await Assert.ThrowsAsync<ArgumentException>(() => client.FlowControl.SetQueueLimitAsync(new string('q', 257), 2));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => client.FlowControl.SetQueueLimitAsync("q", JobFlowControl.MaxLimit + 1));

        Assert.Null(await client.FlowControl.GetAsync(type));
        Assert.DoesNotContain(await client.FlowControl.ListAsync(), s => s.JobType == type);
    }

    // A job of another type spawned now starts and finishes: the silos are claiming, so whatever did
    // not start was held back by flow control, not by a slow poll.
    private static async Task AssertControlJobRunsAsync(Jobs jobs, JobSpawner<TestConfig> control)
    {
        var job = await control.SpawnAsync(JobId.New(), new TestConfig());
        await JobsHarness.EventuallyAsync(() => jobs.FindAsync(job.Id), j => j.Completed);
    }

    private static async Task<int> CompletedAsync(Jobs jobs, List<JobId> ids)
    {
        var completed = 0;
        foreach (var id in ids)
        {
            completed += (await jobs.FindAsync(id)).Completed ? 1 : 0;
        }

        return completed;
    }

    private async Task<long> RunningAsync(string type) =>
        await SqlHelper.ScalarAsync<long>(db.ConnectionString, "SELECT count(*) FROM job_executions WHERE job_type = @t AND state = 'running'", ("t", type));
}
