using System.Collections.Concurrent;
using Job.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Job.Tests.Runtime;

/// <summary>
/// Where the work happens in the cluster: runs execute outside any grain and leave no activation
/// behind; one scheduler timer serves the whole cluster, on its leader, which moves when its silo
/// leaves; idle types cost no grain, reminder or timer.
/// </summary>
public sealed class ClusterShapeTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    private static string NewType(string prefix) => $"{prefix}-{Guid.NewGuid():N}";

    [Fact]
    public async Task Runs_execute_outside_grains_and_leave_no_activation_behind()
    {
        await using var harness = new JobsHarness(db.ConnectionString);
        var silos = new[] { await harness.StartAsync(), await harness.StartAsync() };
        var type = NewType("no-grain");
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var running = new ConcurrentDictionary<JobId, bool>();
        JobSpawner<TestConfig>? spawner = null;
        foreach (var silo in silos)
        {
            spawner = silo.AddInitializer(new TestInitializer(type, async (current, _, _) =>
            {
                running[current.Id] = true;
                await release.Task;
                return JobCompletion.Complete();
            }));
            await silo.StartPollAsync();
        }

        var ids = Enumerable.Range(0, 6).Select(_ => JobId.New()).ToList();
        await spawner!.SpawnAllAsync(ids.Select(id => new JobSpec<TestConfig>(id, new TestConfig())).ToList());
        await JobsHarness.EventuallyAsync(() => Task.FromResult(running.Count), n => n == 6);

        var management = silos[0].GrainFactory.GetGrain<IManagementGrain>(0);
        Assert.Empty(await ActivationsAsync(silos[0], "job"));
        release.SetResult();
        foreach (var id in ids)
        {
            Assert.True((await JobsHarness.EventuallyAsync(() => silos[0].FindAsync(id), j => j.Completed)).Completed);
        }

        Assert.Empty(await ActivationsAsync(silos[0], "job"));
        Assert.Empty(await ActivationsAsync(silos[0], "job-type"));
    }

    [Fact]
    public async Task Future_jobs_of_every_type_are_woken_by_the_clusters_one_scheduler_timer()
    {
        var (clock, controller) = ClockHandle.Artificial(ArtificialClockConfig.Manual());
        var start = clock.Now;
        await using var harness = new JobsHarness(db.ConnectionString);

        // No safety poll within the test: only a notification can start a job.
        var jobs = await harness.StartAsync(b => b.Clock(clock)
            .PollerConfig(new JobPollerConfig { MaxPollInterval = TimeSpan.FromHours(1), ShutdownTimeout = TimeSpan.FromSeconds(2) }));
        var inits = Enumerable.Range(0, 3).Select(i => TestInitializer.Completing(NewType($"timer{i}"))).ToList();
        var spawners = inits.Select(jobs.AddInitializer).ToList();
        await jobs.StartPollAsync();

        foreach (var spawner in spawners)
        {
            var specs = Enumerable.Range(1, 20)
                .Select(i => new JobSpec<TestConfig>(JobId.New(), new TestConfig(i)) { ScheduleAt = start.AddSeconds(10 * i) })
                .ToList();
            await spawner.SpawnAllAsync(specs);
        }

        // Sixty scheduled jobs, three types: one timer on the application clock, the leader's;
        // none per job, none per type.
        Assert.Equal(1, await JobsHarness.EventuallyAsync(() => Task.FromResult(controller.PendingWakeCount), n => n == 1));
        Assert.Empty(await ActivationsAsync(jobs, "job-type"));
        Assert.Single(await ActivationsAsync(jobs, "job-leader"));

        await controller.AdvanceAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(3, await JobsHarness.EventuallyAsync(() => Task.FromResult(inits.Sum(i => i.Runs.Count)), n => n == 3));
        await Task.Delay(300);
        Assert.All(inits, init => Assert.Equal(start.AddSeconds(10), Assert.Single(init.Runs).Now));

        await controller.AdvanceAsync(TimeSpan.FromSeconds(200));
        Assert.Equal(60, await JobsHarness.EventuallyAsync(() => Task.FromResult(inits.Sum(i => i.Runs.Count)), n => n == 60));
    }

    [Fact]
    public async Task Ten_thousand_registered_types_cost_no_grain_reminder_or_timer_while_idle()
    {
        var (clock, controller) = ClockHandle.Artificial(ArtificialClockConfig.Manual());
        await using var harness = new JobsHarness(db.ConnectionString);
        var jobs = await harness.StartAsync(b => b.Clock(clock));
        var tenant = NewType("tenant");
        var inits = Enumerable.Range(0, 10_000).Select(i => TestInitializer.Completing($"{tenant}:{i}")).ToList();
        foreach (var init in inits)
        {
            jobs.AddInitializer(init);
        }

        await jobs.StartPollAsync();
        await JobsHarness.EventuallyAsync(() => ActivationsAsync(jobs, "job-leader"), a => a.Count == 1);

        Assert.Empty(await ActivationsAsync(jobs, "job-type"));
        Assert.Equal(1L, await SqlHelper.ScalarAsync<long>(db.ConnectionString, "SELECT count(*) FROM orleans_reminders WHERE grain_id LIKE 'job-leader/%'"));
        Assert.Equal(0L, await SqlHelper.ScalarAsync<long>(db.ConnectionString, "SELECT count(*) FROM orleans_reminders WHERE grain_id LIKE 'job-type/%'"));
        Assert.Equal(0, controller.PendingWakeCount); // nothing scheduled: no timer at all, none per type

        // And one of them still runs at once when a job of it is spawned.
        var spawner = jobs.Client.Spawner<TestConfig>(inits[7_777].JobType);
        var job = await spawner.SpawnAsync(JobId.New(), new TestConfig());
        Assert.Equal(JobStatus.Completed, (await jobs.AwaitCompletionAsync(job.Id, TimeSpan.FromSeconds(60))).Status);
    }

    [Fact]
    public async Task A_job_committed_after_the_scheduler_announced_past_its_due_time_still_starts()
    {
        var (clock, controller) = ClockHandle.Artificial(ArtificialClockConfig.Manual());
        var start = clock.Now;
        await using var harness = new JobsHarness(db.ConnectionString);
        var jobs = await harness.StartAsync(b => b.Clock(clock)
            .PollerConfig(new JobPollerConfig { MaxPollInterval = TimeSpan.FromHours(1), ShutdownTimeout = TimeSpan.FromSeconds(2) }));
        var spawner = jobs.AddInitializer(TestInitializer.Completing(NewType("late-commit")));
        await jobs.StartPollAsync();

        // A job due at +10 s, spawned in the caller's transaction, which stays open …
        await using var connection = new NpgsqlConnection(db.ConnectionString);
        await connection.OpenAsync();
        await using var tx = await connection.BeginTransactionAsync();
        var late = await spawner.SpawnAtAsync(tx, JobId.New(), new TestConfig(1), start.AddSeconds(10));

        // … while one due at +15 s commits and runs: the scheduler announces everything up to then.
        var other = await spawner.SpawnAtAsync(JobId.New(), new TestConfig(2), start.AddSeconds(15));
        await JobsHarness.EventuallyAsync(() => Task.FromResult(controller.PendingWakeCount), n => n >= 1);
        await controller.AdvanceAsync(TimeSpan.FromSeconds(20));
        Assert.True((await JobsHarness.EventuallyAsync(() => jobs.FindAsync(other.Id), j => j.Completed)).Completed);
        await Assert.ThrowsAsync<JobNotFoundException>(() => jobs.FindAsync(late.Id)); // not committed yet

        // The commit brings a due time the scheduler had already announced past: it announces again.
        await tx.CommitAsync();
        Assert.True((await JobsHarness.EventuallyAsync(() => jobs.FindAsync(late.Id), j => j.Completed)).Completed);
    }

    [Fact]
    public async Task When_the_silo_holding_the_leader_leaves_another_silo_takes_over_its_scheduling()
    {
        var (clock, controller) = ClockHandle.Artificial(ArtificialClockConfig.Manual());
        await using var harness = new JobsHarness(db.ConnectionString);
        var poller = new JobPollerConfig { MaxPollInterval = TimeSpan.FromHours(1), ShutdownTimeout = TimeSpan.FromSeconds(2) };
        var silos = new[] { await harness.StartAsync(b => b.Clock(clock).PollerConfig(poller)), await harness.StartAsync(b => b.Clock(clock).PollerConfig(poller)) };
        var type = NewType("takeover");
        var inits = silos.Select(_ => TestInitializer.Completing(type)).ToList();
        var spawners = silos.Select((silo, i) => silo.AddInitializer(inits[i])).ToList();
        foreach (var silo in silos)
        {
            await silo.StartPollAsync();
        }

        var holder = await JobsHarness.EventuallyAsync(() => LeaderHolderAsync(silos), h => h >= 0);
        var survivor = 1 - holder;
        await silos[holder].ShutdownAsync();

        // The survivor's membership sees the silo gone and reactivates the leader at once, not at the
        // reminder's next tick (1 min; 30 s leaves a loaded machine room and stays inside it).
        Assert.Equal(0, await JobsHarness.EventuallyAsync(() => LeaderHolderAsync([silos[survivor]]), h => h == 0, TimeSpan.FromSeconds(30)));
        var job = await spawners[survivor].SpawnAtAsync(JobId.New(), new TestConfig(), clock.Now.AddSeconds(30));
        await JobsHarness.EventuallyAsync(() => Task.FromResult(controller.PendingWakeCount), n => n >= 1);
        await controller.AdvanceAsync(TimeSpan.FromSeconds(31));
        Assert.True((await JobsHarness.EventuallyAsync(() => silos[survivor].FindAsync(job.Id), j => j.Completed)).Completed);
        Assert.Single(inits[survivor].Runs);
    }

    // Index in silos of the one whose silo holds the cluster's leader, or -1.
    private static async Task<int> LeaderHolderAsync(IReadOnlyList<Jobs> silos)
    {
        for (var i = 0; i < silos.Count; i++)
        {
            if ((await ActivationsAsync(silos[i], "job-leader", localOnly: true)).Count > 0)
            {
                return i;
            }
        }

        return -1;
    }

    // The keys of the active grains of a grain type (cluster-wide, or only on this silo).
    private static async Task<HashSet<string>> ActivationsAsync(Jobs jobs, string grainType, bool localOnly = false)
    {
        var management = jobs.GrainFactory.GetGrain<IManagementGrain>(0);
        SiloAddress[]? hosts = localOnly ? [jobs.Services.GetRequiredService<ILocalSiloDetails>().SiloAddress] : null;
        var stats = await management.GetDetailedGrainStatistics(null, hosts);
        return stats.Where(s => s.GrainId.Type.ToString() == grainType).Select(s => s.GrainId.Key.ToString()!).ToHashSet();
    }
}
