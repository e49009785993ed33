using System.Collections.Concurrent;
using Job.Tests.Infrastructure;
using Microsoft.Extensions.Logging;

namespace Job.Tests.Runtime;

public sealed class QueueAndVisibilityTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    [Fact]
    public async Task Later_queue_id_serializes_execution_across_two_pollers()
    {
        var type = $"queue-2-{Guid.NewGuid():N}";
        var intervals = new ConcurrentQueue<(int Value, long Start, long End)>();
        TestInitializer Make() => new(type, async (_, config, _) =>
        {
            var start = Environment.TickCount64;
            await Task.Delay(40);
            intervals.Enqueue((config.Value, start, Environment.TickCount64));
            return JobCompletion.Complete();
        });

        await using var harness = new JobsHarness(db.ConnectionString);
        var first = await harness.StartAsync();
        var second = await harness.StartAsync();
        var spawner = first.AddInitializer(Make());
        second.AddInitializer(Make());
        var now = first.Clock.Now;
        var specs = Enumerable.Range(0, 8)
            .Select(i => new JobSpec<TestConfig>(JobId.New(), new TestConfig(i)) { QueueId = "shared", ScheduleAt = now.AddMilliseconds(i) })
            .ToList();
        await spawner.SpawnAllAsync(specs);
        await Task.WhenAll(first.StartPollAsync(), second.StartPollAsync());

        foreach (var spec in specs)
        {
            Assert.True((await JobsHarness.EventuallyAsync(() => first.FindAsync(spec.Id), j => j.Completed)).Completed);
        }

        var runs = intervals.OrderBy(r => r.Start).ToList();
        Assert.Equal(Enumerable.Range(0, 8), runs.Select(r => r.Value)); // in due order
        for (var i = 1; i < runs.Count; i++)
        {
            Assert.True(runs[i].Start >= runs[i - 1].End, $"job {runs[i].Value} started before job {runs[i - 1].Value} ended");
        }
    }

    [Fact]
    public async Task A_type_no_silo_registers_waits_visibly_and_is_reported()
    {
        var (clock, controller) = ClockHandle.Artificial(ArtificialClockConfig.Manual());
        var logs = new LogCapture();
        await using var harness = new JobsHarness(db.ConnectionString);
        var jobs = await harness.StartAsync(b => b.Clock(clock)
            .PollerConfig(new JobPollerConfig { JobLostInterval = TimeSpan.FromSeconds(2) })
            .Logging(l => l.AddProvider(logs)));
        jobs.AddInitializer(TestInitializer.Completing($"present-{Guid.NewGuid():N}"));
        await jobs.StartPollAsync();

        var missing = $"missing-{Guid.NewGuid():N}";
        var spawned = await jobs.GrainFactory.GetGrain<IJobTypeGrain>(missing).SpawnAsync(new JobSpawnRequest { Id = JobId.New(), ConfigJson = "{}" });
        await controller.AdvanceAsync(TimeSpan.FromMinutes(2));

        var warning = await JobsHarness.EventuallyAsync(
            () => Task.FromResult(logs.Entries.FirstOrDefault(e => e.Level == LogLevel.Warning && e.Message.Contains(missing))),
            e => e.Message is not null, TimeSpan.FromSeconds(30));
        Assert.NotNull(warning.Message);
        Assert.Contains("is a silo running with this type registered", warning.Message);
        var snapshot = await jobs.GrainFactory.GetGrain<IJobGrain>(spawned.Id.Value).GetSnapshotAsync();
        Assert.Equal(JobStatus.Pending, snapshot.Status);
    }
}
