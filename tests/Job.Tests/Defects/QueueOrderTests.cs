using System.Collections.Concurrent;
using Job.Tests.Infrastructure;
using Job.Tests.Runtime;

namespace Job.Tests.Defects;

/// <summary>
/// Due order holds across hand-backs and across serial queues and plain jobs: a handed-back queue
/// head stays the head (issue 10.9), and a plain job due earlier is claimed before queue heads due
/// later (10.10).
/// </summary>
public sealed class QueueOrderTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    private static string NewType(string prefix) => $"{prefix}-{Guid.NewGuid():N}";

    [Fact]
    public async Task A_handed_back_queue_head_still_runs_before_the_later_jobs_of_its_queue()
    {
        await using var harness = new JobsHarness(db.ConnectionString);
        var type = NewType("q-order");
        var queue = $"queue-{Guid.NewGuid():N}";
        var now = DateTimeOffset.UtcNow;
        var ids = new[] { JobId.New(), JobId.New(), JobId.New() };

        // The first service runs the head and is shut down while it runs (the run ignores the signal).
        var first = await harness.StartAsync(b => b.PollerConfig(new JobPollerConfig { ShutdownTimeout = TimeSpan.FromMilliseconds(300) }));
        var release = new TaskCompletionSource();
        var stubborn = new TestInitializer(type, async (_, _, _) =>
        {
            await release.Task;
            return JobCompletion.Complete();
        });
        var spawner = first.AddInitializer(stubborn);
        await spawner.SpawnAllAsync(ids.Select((id, i) => new JobSpec<TestConfig>(id, new TestConfig(i)) { QueueId = queue, ScheduleAt = now.AddSeconds(-3 + i) }));
        await first.StartPollAsync();
        await JobsHarness.EventuallyAsync(() => Task.FromResult(stubborn.Runs.Count), n => n == 1);
        Assert.Equal(ids[0], stubborn.Runs.Single().Id);
        await first.ShutdownAsync();
        release.SetResult();
        var handedBack = await harness.FindAsync(ids[0]);
        Assert.Contains(handedBack.Events, e => e.Type == JobEventTypes.ExecutionAborted);

        // The next service runs the queue in due order: the head first.
        var order = new ConcurrentQueue<JobId>();
        var second = await harness.StartAsync();
        second.AddInitializer(new TestInitializer(type, (current, _, _) =>
        {
            order.Enqueue(current.Id);
            return Task.FromResult(JobCompletion.Complete());
        }));
        await second.StartPollAsync();
        await JobsHarness.EventuallyAsync(() => Task.FromResult(order.Count), n => n == 3);
        Assert.Equal(ids, order.ToArray());
    }

    [Fact]
    public async Task A_plain_job_due_earlier_is_claimed_before_queue_heads_due_later()
    {
        await using var harness = new JobsHarness(db.ConnectionString);
        var jobs = await harness.StartAsync(b => b.PollerConfig(new JobPollerConfig { MaxJobsPerProcess = 1, MinJobsPerProcess = 1 }));
        var order = new ConcurrentQueue<JobId>();
        var type = NewType("starve");
        var spawner = jobs.AddInitializer(new TestInitializer(type, (current, _, _) =>
        {
            order.Enqueue(current.Id);
            return Task.FromResult(JobCompletion.Complete());
        }));
        var now = DateTimeOffset.UtcNow;
        var plain = JobId.New();
        await spawner.SpawnAtAsync(plain, new TestConfig(), now.AddHours(-1));
        var heads = Enumerable.Range(0, 5).Select(_ => JobId.New()).ToArray();
        await spawner.SpawnAllAsync(heads.Select((id, i) => new JobSpec<TestConfig>(id, new TestConfig(i)) { QueueId = $"q{i}-{Guid.NewGuid():N}", ScheduleAt = now.AddSeconds(-1) }));

        await jobs.StartPollAsync();
        await JobsHarness.EventuallyAsync(() => Task.FromResult(order.Count), n => n == 6);
        Assert.Equal(plain, order.First());
    }
}
