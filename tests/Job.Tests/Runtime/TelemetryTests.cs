using System.Collections.Concurrent;
using System.Diagnostics;
using Job.Telemetry;
using Job.Tests.Infrastructure;

namespace Job.Tests.Runtime;

public sealed class TelemetryTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    [Fact]
    public async Task The_trace_context_at_spawn_is_the_parent_of_every_execution_span()
    {
        var stopped = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name is JobTelemetry.SourceName or "test",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = stopped.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        using var testSource = new ActivitySource("test");

        await using var harness = new JobsHarness(db.ConnectionString);
        var jobs = await harness.StartAsync();
        var failOnce = 0;
        var spawner = jobs.AddInitializer(new TestInitializer($"traced-{Guid.NewGuid():N}", (_, _, _) =>
            Interlocked.Increment(ref failOnce) == 1 ? throw new InvalidOperationException("once") : Task.FromResult(JobCompletion.Complete()))
        {
            RetryOnErrorSettings = new RetrySettings { MinBackoff = TimeSpan.FromMilliseconds(300), BackoffJitterPct = 0 },
        });
        await jobs.StartPollAsync();

        Job job;
        ActivityTraceId traceId;
        using (var request = testSource.StartActivity("http request"))
        {
            traceId = request!.TraceId;
            job = await spawner.SpawnAsync(JobId.New(), new TestConfig());
        }

        await jobs.AwaitCompletionAsync(job.Id, TimeSpan.FromSeconds(15));
        var executions = await JobsHarness.EventuallyAsync(
            () => Task.FromResult(stopped.Where(a => a.OperationName == "job.execute" && Equals(a.GetTagItem("job.id"), job.Id.ToString())).ToList()),
            list => list.Count == 2);
        var spawn = Assert.Single(stopped, a => a.OperationName == "job.spawn" && a.TraceId == traceId);

        Assert.Equal(2, executions.Count);
        Assert.All(executions, e =>
        {
            Assert.Equal(traceId, e.TraceId);
            Assert.Equal(spawn.SpanId, e.ParentSpanId);
            Assert.Equal(spawner.JobType.Name, e.GetTagItem("job.type"));
        });
        Assert.Equal([1, 2], executions.Select(e => (int)e.GetTagItem("job.attempt")!).Order());
        Assert.Equal(["completed", "retry"], executions.Select(e => (string)e.GetTagItem("job.outcome")!).Order());
        Assert.Contains(stopped, a => a.OperationName == "job.claim");
    }
}
