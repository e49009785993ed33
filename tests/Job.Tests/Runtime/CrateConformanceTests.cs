using System.Collections.Concurrent;
using Job.Tests.Infrastructure;
using Npgsql;

namespace Job.Tests.Runtime;

/// <summary>The crate's 0.6.8 integration and repository tests (§10.1, items 25–33), on real silos.</summary>
public sealed class CrateConformanceTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    private static string NewType(string prefix) => $"{prefix}-{Guid.NewGuid():N}";

    [Fact]
    public async Task Crate25_unique_per_job_type()
    {
        await using var harness = new JobsHarness(db.ConnectionString);
        var jobs = await harness.StartAsync();
        var typeA = NewType("unique-a");
        var typeB = NewType("unique-b");
        var a = jobs.AddInitializer(TestInitializer.Completing(typeA));
        var b = jobs.AddInitializer(TestInitializer.Completing(typeB));
        var a2 = jobs.AddInitializer(new TestInitializer(NewType("plain"), (_, _, _) => Task.FromResult(JobCompletion.Complete())));

        var firstId = JobId.New();
        Assert.True(await a.SpawnUniqueAsync(firstId, new TestConfig()));

        // Unlike the crate's by-value self, the spawner stays usable (issue 10.18): the unique index
        // is what guarantees one unique job per type.
        await a.SpawnAsync(JobId.New(), new TestConfig());
        Assert.False(await a.SpawnUniqueAsync(JobId.New(), new TestConfig()));

        // A second unique job of the same type is refused (crate: DuplicateUniqueJobType), through the type's grain.
        var typeGrainA = jobs.GrainFactory.GetGrain<IJobTypeGrain>(typeA);
        Assert.False(await typeGrainA.SpawnUniqueAsync(new JobSpawnRequest { Id = JobId.New(), ConfigJson = "{}" }));

        // Reusing an id fails with DuplicateId, unique or not.
        var typeGrainB = jobs.GrainFactory.GetGrain<IJobTypeGrain>(typeB);
        await Assert.ThrowsAsync<DuplicateJobIdException>(() => typeGrainB.SpawnUniqueAsync(new JobSpawnRequest { Id = firstId, ConfigJson = "{}" }));

        // Unique jobs of different types coexist.
        Assert.True(await b.SpawnUniqueAsync(JobId.New(), new TestConfig()));

        // Non-unique jobs of one type coexist, and an id reuse is still DuplicateId.
        var plainId = JobId.New();
        await a2.SpawnAsync(plainId, new TestConfig());
        await a2.SpawnAsync(JobId.New(), new TestConfig());
        await Assert.ThrowsAsync<DuplicateJobIdException>(() => a2.SpawnAsync(plainId, new TestConfig()));
    }

    [Fact]
    public async Task Crate27_test_scheduled_job_with_artificial_clock()
    {
        var (clock, controller) = ClockHandle.Artificial(ArtificialClockConfig.Manual());
        await using var harness = new JobsHarness(db.ConnectionString);
        var jobs = await harness.StartAsync(b => b.Clock(clock));
        var init = TestInitializer.Completing(NewType("scheduled"));
        var spawner = jobs.AddInitializer(init);
        await jobs.StartPollAsync();

        var scheduleAt = clock.Now.AddSeconds(60);
        var job = await spawner.SpawnAtAsync(JobId.New(), new TestConfig(), scheduleAt);
        await Task.Delay(300);
        Assert.Empty(init.Runs);
        Assert.False((await jobs.FindAsync(job.Id)).Completed);

        await controller.AdvanceAsync(TimeSpan.FromSeconds(61));
        var found = await JobsHarness.EventuallyAsync(() => jobs.FindAsync(job.Id), j => j.Completed);
        Assert.True(found.Completed);
        var run = Assert.Single(init.Runs);
        Assert.True(run.Now >= scheduleAt, $"ran at {run.Now:O}, before its schedule {scheduleAt:O}");
    }

    [Fact]
    public async Task Crate28_test_queue_id_serializes_execution()
    {
        await using var harness = new JobsHarness(db.ConnectionString);
        var jobs = await harness.StartAsync();
        var gates = new ConcurrentDictionary<int, TaskCompletionSource>();
        var started = new ConcurrentQueue<int>();
        var completed = new ConcurrentQueue<int>();
        var init = new TestInitializer(NewType("queue"), async (_, config, _) =>
        {
            started.Enqueue(config.Value);
            await gates.GetOrAdd(config.Value, _ => new TaskCompletionSource()).Task;
            completed.Enqueue(config.Value);
            return JobCompletion.Complete();
        });
        var spawner = jobs.AddInitializer(init);
        await jobs.StartPollAsync();

        var a = await spawner.SpawnWithQueueIdAsync(JobId.New(), new TestConfig(1), "q");
        var b = await spawner.SpawnWithQueueIdAsync(JobId.New(), new TestConfig(2), "q");
        await JobsHarness.EventuallyAsync(() => Task.FromResult(started.Count), n => n >= 1);
        await Task.Delay(300);
        Assert.Equal([1], started);

        gates.GetOrAdd(1, _ => new TaskCompletionSource()).SetResult();
        await JobsHarness.EventuallyAsync(() => Task.FromResult(started.Count), n => n >= 2);
        Assert.Equal([1, 2], started);
        gates.GetOrAdd(2, _ => new TaskCompletionSource()).SetResult();
        await JobsHarness.EventuallyAsync(() => jobs.FindAsync(b.Id), j => j.Completed);
        Assert.Equal([1, 2], completed);
        Assert.True((await jobs.FindAsync(a.Id)).Completed);
    }

    [Fact]
    public async Task Crate29_test_different_queue_ids_run_concurrently() =>
        await AssertRunConcurrentlyAsync(i => $"queue-{i}");

    [Fact]
    public async Task Crate30_test_non_queued_jobs_unaffected() =>
        await AssertRunConcurrentlyAsync(_ => null);

    private async Task AssertRunConcurrentlyAsync(Func<int, string?> queueOf)
    {
        await using var harness = new JobsHarness(db.ConnectionString);
        var jobs = await harness.StartAsync();
        var release = new TaskCompletionSource();
        var running = 0;
        var init = new TestInitializer(NewType("concurrent"), async (_, _, _) =>
        {
            Interlocked.Increment(ref running);
            await release.Task;
            return JobCompletion.Complete();
        });
        var spawner = jobs.AddInitializer(init);
        await jobs.StartPollAsync();

        var ids = new List<JobId>();
        for (var i = 0; i < 3; i++)
        {
            var spec = new JobSpec<TestConfig>(JobId.New(), new TestConfig(i)) { QueueId = queueOf(i) };
            ids.Add((await spawner.SpawnAllAsync([spec]))[0].Id);
        }

        var concurrent = await JobsHarness.EventuallyAsync(() => Task.FromResult(Volatile.Read(ref running)), n => n == 3);
        Assert.Equal(3, concurrent);
        release.SetResult();
        foreach (var id in ids)
        {
            Assert.True((await JobsHarness.EventuallyAsync(() => jobs.FindAsync(id), j => j.Completed)).Completed);
        }
    }

    [Fact]
    public async Task Crate31_test_bulk_spawn_creates_and_runs_all_jobs()
    {
        await using var harness = new JobsHarness(db.ConnectionString);
        var jobs = await harness.StartAsync();
        var spawner = jobs.AddInitializer(TestInitializer.Completing(NewType("bulk")));
        await jobs.StartPollAsync();

        var created = await spawner.SpawnAllAsync(Enumerable.Range(0, 5).Select(i => new JobSpec<TestConfig>(JobId.New(), new TestConfig(i))));
        Assert.Equal(5, created.Count);
        foreach (var job in created)
        {
            Assert.True((await JobsHarness.EventuallyAsync(() => jobs.FindAsync(job.Id), j => j.Completed)).Completed);
        }
    }

    [Fact]
    public async Task Crate32_test_bulk_spawn_rolls_back_on_duplicate_id()
    {
        await using var harness = new JobsHarness(db.ConnectionString);
        var jobs = await harness.StartAsync();
        var spawner = jobs.AddInitializer(TestInitializer.Completing(NewType("bulk-dup")));

        var first = JobId.New();
        var repeated = JobId.New();
        var ex = await Assert.ThrowsAsync<DuplicateJobIdException>(() => spawner.SpawnAllAsync(
        [
            new JobSpec<TestConfig>(first, new TestConfig()),
            new JobSpec<TestConfig>(repeated, new TestConfig()),
            new JobSpec<TestConfig>(repeated, new TestConfig()),
        ]));
        Assert.Equal(repeated, ex.Id);
        await Assert.ThrowsAsync<JobNotFoundException>(() => jobs.FindAsync(first));

        // Against an existing row too: the whole batch rolls back.
        var existing = (await spawner.SpawnAsync(JobId.New(), new TestConfig())).Id;
        var fresh = JobId.New();
        var ex2 = await Assert.ThrowsAsync<DuplicateJobIdException>(() => spawner.SpawnAllAsync(
        [
            new JobSpec<TestConfig>(fresh, new TestConfig()),
            new JobSpec<TestConfig>(existing, new TestConfig()),
        ]));
        Assert.Equal(existing, ex2.Id);
        await Assert.ThrowsAsync<JobNotFoundException>(() => jobs.FindAsync(fresh));
    }

    [Fact]
    public async Task Crate33_test_bulk_spawn_empty_batch()
    {
        await using var harness = new JobsHarness(db.ConnectionString);
        var jobs = await harness.StartAsync();
        var spawner = jobs.AddInitializer(TestInitializer.Completing(NewType("bulk-empty")));
        var result = await spawner.SpawnAllAsync([]);
        Assert.Empty(result);
    }
}
