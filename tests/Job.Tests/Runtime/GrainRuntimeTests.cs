using System.Collections.Concurrent;
using Job.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Job.Tests.Runtime;

/// <summary>
/// Where the work happens in the cluster: each claim runs in its job's grain on the claiming silo,
/// and each type's grain, kept alive by the type's one reminder, schedules the type's future jobs.
/// </summary>
public sealed class GrainRuntimeTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    private static string NewType(string prefix) => $"{prefix}-{Guid.NewGuid():N}";

    [Fact]
    public async Task Each_claim_runs_in_its_job_grain_on_the_claiming_silo_and_the_activation_ends_with_the_run()
    {
        await using var harness = new JobsHarness(db.ConnectionString);

        // Room for four jobs on one silo and two on the other: six jobs fill both exactly, so each
        // silo's count of job grains shows where the runs are.
        var silos = new[]
        {
            await harness.StartAsync(b => b.PollerConfig(new JobPollerConfig { MaxJobsPerProcess = 4, MinJobsPerProcess = 4, ShutdownTimeout = TimeSpan.FromSeconds(2) })),
            await harness.StartAsync(b => b.PollerConfig(new JobPollerConfig { MaxJobsPerProcess = 2, MinJobsPerProcess = 2, ShutdownTimeout = TimeSpan.FromSeconds(2) })),
        };
        var type = NewType("grain-run");
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
        }

        var ids = Enumerable.Range(0, 6).Select(_ => JobId.New()).ToList();
        await spawner!.SpawnAllAsync(ids.Select(id => new JobSpec<TestConfig>(id, new TestConfig())).ToList());
        foreach (var silo in silos)
        {
            await silo.StartPollAsync();
        }

        Assert.Equal(6, await JobsHarness.EventuallyAsync(() => Task.FromResult(running.Count), n => n == 6));
        var claimsPerSilo = (await ClaimedByAsync(ids)).Values.GroupBy(s => s).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal([2, 4], claimsPerSilo.Values.Order());

        // Every running job has its grain activated, and each silo holds the grains of exactly the
        // jobs it claimed.
        var management = silos[0].GrainFactory.GetGrain<IManagementGrain>(0);
        var active = (await management.GetActiveGrains(GrainType.Create("job"))).Select(JobIdOf).ToHashSet();
        Assert.True(active.IsSupersetOf(ids));
        Assert.Equal(claimsPerSilo, await JobGrainsPerSiloAsync(management));

        release.SetResult();
        foreach (var id in ids)
        {
            Assert.True((await JobsHarness.EventuallyAsync(() => silos[0].FindAsync(id), j => j.Completed)).Completed);
        }

        // No activation outlives its run: a million jobs leave no grains behind.
        Assert.Empty(await JobsHarness.EventuallyAsync(() => JobGrainsPerSiloAsync(management), a => a.Count == 0));
    }

    private static JobId JobIdOf(GrainId grain) =>
        grain.TryGetGuidKey(out var key, out _) ? new JobId(key) : throw new InvalidOperationException($"{grain} has no job id.");

    // Silo → number of job grain activations on it (silos without any are left out).
    private static async Task<Dictionary<string, int>> JobGrainsPerSiloAsync(IManagementGrain management) =>
        (await management.GetSimpleGrainStatistics())
            .Where(s => s.GrainType.StartsWith(typeof(Jobs).Namespace + ".Grains.JobGrain,", StringComparison.Ordinal) && s.ActivationCount > 0)
            .GroupBy(s => s.SiloAddress.ToParsableString())
            .ToDictionary(g => g.Key, g => g.Sum(s => s.ActivationCount));

    [Fact]
    public async Task Future_jobs_are_woken_by_their_type_grain_with_one_application_clock_timer_per_type()
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

        // Sixty scheduled jobs, three types: three timers on the application clock, one in each
        // type's grain; none per job, none in the poller.
        Assert.Equal(3, await JobsHarness.EventuallyAsync(() => Task.FromResult(controller.PendingWakeCount), n => n == 3));
        var typeGrains = await ActivationsAsync(jobs, "job-type");
        Assert.All(inits, init => Assert.Contains(init.JobType.Name, typeGrains));

        await controller.AdvanceAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(3, await JobsHarness.EventuallyAsync(() => Task.FromResult(inits.Sum(i => i.Runs.Count)), n => n == 3));
        await Task.Delay(300);
        Assert.All(inits, init => Assert.Equal(start.AddSeconds(10), Assert.Single(init.Runs).Now));

        await controller.AdvanceAsync(TimeSpan.FromSeconds(200));
        Assert.Equal(60, await JobsHarness.EventuallyAsync(() => Task.FromResult(inits.Sum(i => i.Runs.Count)), n => n == 60));
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
    public async Task When_the_silo_holding_a_type_grain_leaves_another_silo_takes_over_its_scheduling()
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

        var holder = await JobsHarness.EventuallyAsync(() => TypeGrainHolderAsync(silos, type), h => h >= 0);
        Assert.True(holder >= 0, "the type's grain never became active");
        var survivor = 1 - holder;
        await silos[holder].ShutdownAsync();

        // The survivor's membership sees the silo gone and reactivates the type's grain at once,
        // not at the reminder's next tick (1 min; 30 s leaves a loaded machine room and stays inside it).
        Assert.Equal(0, await JobsHarness.EventuallyAsync(() => TypeGrainHolderAsync([silos[survivor]], type), h => h == 0, TimeSpan.FromSeconds(30)));
        var job = await spawners[survivor].SpawnAtAsync(JobId.New(), new TestConfig(), clock.Now.AddSeconds(30));
        await JobsHarness.EventuallyAsync(() => Task.FromResult(controller.PendingWakeCount), n => n >= 1);
        await controller.AdvanceAsync(TimeSpan.FromSeconds(31));
        Assert.True((await JobsHarness.EventuallyAsync(() => silos[survivor].FindAsync(job.Id), j => j.Completed)).Completed);
        Assert.Single(inits[survivor].Runs);
    }

    // Index in silos of the one whose silo holds the type's grain, or -1.
    private static async Task<int> TypeGrainHolderAsync(IReadOnlyList<Jobs> silos, string type)
    {
        for (var i = 0; i < silos.Count; i++)
        {
            if ((await ActivationsAsync(silos[i], "job-type", localOnly: true)).Contains(type))
            {
                return i;
            }
        }

        return -1;
    }

    private async Task<Dictionary<JobId, string>> ClaimedByAsync(IReadOnlyList<JobId> ids)
    {
        await using var connection = new NpgsqlConnection(db.ConnectionString);
        await connection.OpenAsync();
        await using var cmd = new NpgsqlCommand("SELECT id, claimed_by FROM job_executions WHERE id = ANY(@ids)", connection);
        cmd.Parameters.AddWithValue("ids", ids.Select(i => i.Value).ToArray());
        await using var reader = await cmd.ExecuteReaderAsync();
        var result = new Dictionary<JobId, string>();
        while (await reader.ReadAsync())
        {
            result[new JobId(reader.GetGuid(0))] = reader.GetString(1);
        }

        return result;
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
