using Job.Tests.Infrastructure;
using Npgsql;

namespace Job.Tests.Runtime;

/// <summary>Claiming: registered types only, SKIP LOCKED fall-through, capacity, NOTIFY wake-ups.</summary>
public sealed class PollingTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    private static string NewType(string prefix) => $"{prefix}-{Guid.NewGuid():N}";

    [Fact]
    public async Task Gap_only_registered_types_are_claimed()
    {
        await using var harness = new JobsHarness(db.ConnectionString);
        var jobs = await harness.StartAsync();
        var spawner = jobs.AddInitializer(TestInitializer.Completing(NewType("registered")));
        await jobs.StartPollAsync();

        var orphanType = NewType("nobody-runs-this");
        var orphan = await jobs.GrainFactory.GetGrain<IJobTypeGrain>(orphanType)
            .SpawnAsync(new JobSpawnRequest { Id = JobId.New(), ConfigJson = "{}" });
        var mine = await spawner.SpawnAsync(JobId.New(), new TestConfig());

        Assert.True((await JobsHarness.EventuallyAsync(() => jobs.FindAsync(mine.Id), j => j.Completed)).Completed);
        await Task.Delay(300);
        var snapshot = await jobs.GrainFactory.GetGrain<IJobGrain>(orphan.Id.Value).GetSnapshotAsync();
        Assert.Equal(JobStatus.Pending, snapshot.Status); // waiting, visible, not lost
        Assert.Equal(orphanType, snapshot.JobType);
    }

    [Fact]
    public async Task Later_poller_falls_through_locked_head_rows_to_later_due_jobs()
    {
        await using var harness = new JobsHarness(db.ConnectionString);
        var jobs = await harness.StartAsync();
        var spawner = jobs.AddInitializer(TestInitializer.Completing(NewType("skip-locked")));
        var now = jobs.Clock.Now;
        var head1 = (await spawner.SpawnAtAsync(JobId.New(), new TestConfig(), now.AddMinutes(-3))).Id;
        var head2 = (await spawner.SpawnAtAsync(JobId.New(), new TestConfig(), now.AddMinutes(-2))).Id;
        var later = (await spawner.SpawnAtAsync(JobId.New(), new TestConfig(), now.AddMinutes(-1))).Id;

        // Another poller (here: a plain transaction) holds the head rows.
        await using var connection = new NpgsqlConnection(db.ConnectionString);
        await connection.OpenAsync();
        await using var tx = await connection.BeginTransactionAsync();
        await using (var lockCmd = new NpgsqlCommand("SELECT id FROM job_executions WHERE id = ANY(@ids) FOR UPDATE", connection, tx))
        {
            lockCmd.Parameters.AddWithValue("ids", new[] { head1.Value, head2.Value });
            await lockCmd.ExecuteNonQueryAsync();
        }

        await jobs.StartPollAsync();
        Assert.True((await JobsHarness.EventuallyAsync(() => jobs.FindAsync(later), j => j.Completed)).Completed);
        Assert.False((await jobs.FindAsync(head1)).Completed);
        Assert.False((await jobs.FindAsync(head2)).Completed);

        await tx.RollbackAsync();
        Assert.True((await JobsHarness.EventuallyAsync(() => jobs.FindAsync(head1), j => j.Completed)).Completed);
        Assert.True((await JobsHarness.EventuallyAsync(() => jobs.FindAsync(head2), j => j.Completed)).Completed);
    }

    [Fact]
    public async Task Gap_capacity_bounds_concurrency_and_everything_drains()
    {
        await using var harness = new JobsHarness(db.ConnectionString);
        var jobs = await harness.StartAsync(b => b.PollerConfig(new JobPollerConfig { MaxJobsPerProcess = 3, MinJobsPerProcess = 2 }));
        var running = 0;
        var peak = 0;
        var init = new TestInitializer(NewType("capacity"), async (_, _, _) =>
        {
            var now = Interlocked.Increment(ref running);
            InterlockedMax(ref peak, now);
            await Task.Delay(50);
            Interlocked.Decrement(ref running);
            return JobCompletion.Complete();
        });
        var spawner = jobs.AddInitializer(init);
        var specs = Enumerable.Range(0, 20).Select(i => new JobSpec<TestConfig>(JobId.New(), new TestConfig(i))).ToList();
        await spawner.SpawnAllAsync(specs);
        await jobs.StartPollAsync();

        foreach (var spec in specs)
        {
            Assert.True((await JobsHarness.EventuallyAsync(() => jobs.FindAsync(spec.Id), j => j.Completed)).Completed);
        }

        Assert.InRange(peak, 1, 3);
        Assert.Equal(20, init.Runs.Count);
    }

    [Fact]
    public async Task A_committed_spawn_wakes_the_poller_without_polling()
    {
        await using var harness = new JobsHarness(db.ConnectionString);
        var jobs = await harness.StartAsync(b => b.PollerConfig(new JobPollerConfig { MaxPollInterval = TimeSpan.FromHours(1) }));
        var spawner = jobs.AddInitializer(TestInitializer.Completing(NewType("notify")));
        await jobs.StartPollAsync();
        await Task.Delay(500); // the poller is asleep: nothing due, next safety poll in an hour

        var job = await spawner.SpawnAsync(JobId.New(), new TestConfig());
        // Any time under the hour-long safety poll proves the wake-up; 30 s leaves room for a loaded machine.
        Assert.True((await JobsHarness.EventuallyAsync(() => jobs.FindAsync(job.Id), j => j.Completed, TimeSpan.FromSeconds(30))).Completed);

        // A future job spawned while the poller sleeps: its type's scheduler hears of it and wakes the
        // poller when it falls due.
        var soon = await spawner.SpawnAtAsync(JobId.New(), new TestConfig(), jobs.Clock.Now.AddSeconds(1));
        Assert.True((await JobsHarness.EventuallyAsync(() => jobs.FindAsync(soon.Id), j => j.Completed, TimeSpan.FromSeconds(30))).Completed);
    }

    [Fact]
    public async Task A_rolled_back_spawn_leaves_no_job_and_a_committed_one_runs()
    {
        await using var harness = new JobsHarness(db.ConnectionString);
        var jobs = await harness.StartAsync();
        var spawner = jobs.AddInitializer(TestInitializer.Completing(NewType("tx-spawn")));
        await jobs.StartPollAsync();

        await using var connection = new NpgsqlConnection(db.ConnectionString);
        await connection.OpenAsync();
        var rolledBack = JobId.New();
        await using (var tx = await connection.BeginTransactionAsync())
        {
            await spawner.SpawnAsync(tx, rolledBack, new TestConfig());
            await tx.RollbackAsync();
        }

        var committed = JobId.New();
        await using (var tx = await connection.BeginTransactionAsync())
        {
            // A failed spawn inside the caller's transaction leaves it usable (savepoint).
            await Assert.ThrowsAsync<DuplicateJobIdException>(async () =>
            {
                var existing = (await spawner.SpawnAsync(JobId.New(), new TestConfig())).Id;
                await spawner.SpawnAsync(tx, existing, new TestConfig());
            });
            await spawner.SpawnAtAsync(tx, committed, new TestConfig(), jobs.Clock.Now);
            await tx.CommitAsync();
        }

        Assert.True((await JobsHarness.EventuallyAsync(() => jobs.FindAsync(committed), j => j.Completed)).Completed);
        await Assert.ThrowsAsync<JobNotFoundException>(() => jobs.FindAsync(rolledBack));
    }

    [Fact]
    public async Task Job_types_built_at_run_time_work()
    {
        await using var harness = new JobsHarness(db.ConnectionString);
        var jobs = await harness.StartAsync();
        var tenants = new[] { "acme", "globex" };
        var spawners = tenants.Select(t => jobs.AddInitializer(TestInitializer.Completing($"inbox:{t}:{Guid.NewGuid():N}"))).ToList();
        await jobs.StartPollAsync();
        foreach (var spawner in spawners)
        {
            var job = await spawner.SpawnAsync(JobId.New(), new TestConfig());
            var found = await JobsHarness.EventuallyAsync(() => jobs.FindAsync(job.Id), j => j.Completed);
            Assert.Equal(spawner.JobType, found.JobType);
        }
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        while ((current = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }
}
