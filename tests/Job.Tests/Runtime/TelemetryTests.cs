using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
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

    [Fact]
    public async Task Counters_of_a_silos_types_and_declared_schedules_start_at_zero_and_spawns_through_the_type_grain_are_counted()
    {
        var type = $"metered-{Guid.NewGuid():N}";
        var declared = $"declared-{Guid.NewGuid():N}";
        var seen = new ConcurrentQueue<(string Instrument, long Value, Dictionary<string, object?> Tags)>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == JobTelemetry.SourceName)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            var map = new Dictionary<string, object?>();
            foreach (var tag in tags)
            {
                map[tag.Key] = tag.Value;
            }

            if (Equals(map.GetValueOrDefault("job.type"), type) || Equals(map.GetValueOrDefault("job.schedule"), declared))
            {
                seen.Enqueue((instrument.Name, value, map));
            }
        });
        listener.Start();

        await using var harness = new JobsHarness(db.ConnectionString);
        var jobs = await harness.StartAsync();
        jobs.AddInitializer(TestInitializer.Completing(type));
        jobs.AddRecurring(new JobScheduleSpec<TestConfig>(declared, new JobType(type), "0 2 * * *", new TestConfig(3)));
        await jobs.StartPollAsync();

        // Zero for every outcome, rescue reason and the other per-type counters, before anything happened.
        foreach (var outcome in new[] { "completed", "rescheduled", "retry", "errored", "handed_back", "cancelled" })
        {
            Assert.Contains(seen, m => m.Instrument == "job.runs" && m.Value == 0 && Equals(m.Tags["job.outcome"], outcome));
        }

        foreach (var reason in new[] { JobEventTypes.SiloLost, JobEventTypes.JobLost })
        {
            Assert.Contains(seen, m => m.Instrument == "job.rescued" && m.Value == 0 && Equals(m.Tags["job.rescue.reason"], reason));
        }

        Assert.Contains(seen, m => m.Instrument == "job.stale_writes" && m.Value == 0);
        Assert.Contains(seen, m => m.Instrument == "job.spawned" && m.Value == 0);

        // And every outcome of the schedule declared in code: an alert on missed ticks has its zero.
        foreach (var outcome in new[] { "spawned", "skipped", "missed" })
        {
            Assert.Contains(seen, m => m.Instrument == "job.schedule.ticks" && m.Value == 0 && Equals(m.Tags["job.schedule"], declared) && Equals(m.Tags["job.outcome"], outcome));
        }

        // A spawn by type name (an Orleans client's path) counts as a spawn, and its run as a run.
        var job = await jobs.GrainFactory.SpawnJobAsync(new JobType(type), JobId.New(), new TestConfig(1));
        await jobs.AwaitCompletionAsync(job.Id, TimeSpan.FromSeconds(30));
        Assert.Contains(seen, m => m.Instrument == "job.spawned" && m.Value == 1);
        await JobsHarness.EventuallyAsync(() => Task.FromResult(seen.Any(m => m.Instrument == "job.runs" && m.Value == 1 && Equals(m.Tags["job.outcome"], "completed"))), done => done);

        // A recurring schedule's tick, whose job the database creates, counts as a spawn too.
        var schedule = $"telemetry-{Guid.NewGuid():N}";
        await jobs.Schedules.SetAsync(new JobScheduleSpec<TestConfig>(schedule, new JobType(type), "* * * * * *", new TestConfig(2)));
        var ticks = await JobsHarness.EventuallyAsync(() => jobs.Schedules.TicksAsync(schedule, 100), t => t.Any(x => x.Outcome == JobScheduleTickOutcome.Spawned));
        await jobs.Schedules.RemoveAsync(schedule);
        var spawnedByTicks = ticks.Count(t => t.Outcome == JobScheduleTickOutcome.Spawned);
        await JobsHarness.EventuallyAsync(() => Task.FromResult(seen.Where(m => m.Instrument == "job.spawned").Sum(m => m.Value)), n => n >= 1 + spawnedByTicks);
    }
}
