using Job.Tests.Foundation;
using Job.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Job.Tests.Runtime;

/// <summary>
/// Limits declared in code (issue 13.2) follow the same rule as schedules: the latest change wins. A
/// silo applies its declaration at start; a restart with the same declaration leaves a run-time change
/// alone; a changed declaration applies; a removed one lifts its limits; reset goes back to the code's.
/// Priorities reach the database from every spawn path.
/// </summary>
public sealed class FlowControlDeclarationTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    private static string NewType(string prefix) => $"declared-{prefix}-{Guid.NewGuid():N}";

    [Fact]
    public async Task Limits_declared_in_code_apply_at_start_and_a_run_time_change_wins_until_the_declaration_changes()
    {
        await using var harness = new JobsHarness(db.ConnectionString);
        var type = NewType("limits");
        async Task<Jobs> DeployAsync(JobTypeLimits? limits)
        {
            var jobs = await harness.StartAsync();
            jobs.AddInitializer(new LimitedInitializer(type, limits));
            await jobs.StartPollAsync();
            return jobs;
        }

        var silo = await DeployAsync(new JobTypeLimits { MaxRunning = 2, RateLimit = new JobRateLimit(50, TimeSpan.FromMinutes(1)) });
        var declared = (await silo.FlowControl.GetAsync(new JobType(type)))!;
        Assert.Equal((2, new JobRateLimit(50, TimeSpan.FromMinutes(1)), "code"), (declared.MaxRunning, declared.RateLimit, declared.UpdatedBy));

        // A run-time change survives a restart with the same declaration, and a pause survives anything.
        await silo.FlowControl.SetConcurrencyLimitAsync(new JobType(type), 5, "operator");
        await silo.FlowControl.PauseAsync(new JobType(type), "operator");
        await silo.ShutdownAsync();
        silo = await DeployAsync(new JobTypeLimits { MaxRunning = 2, RateLimit = new JobRateLimit(50, TimeSpan.FromMinutes(1)) });
        var kept = (await silo.FlowControl.GetAsync(new JobType(type)))!;
        Assert.Equal((5, true, "operator"), (kept.MaxRunning, kept.Paused, kept.UpdatedBy));

        // A changed declaration applies on deploy (the pause stays); reset goes back to it.
        await silo.ShutdownAsync();
        silo = await DeployAsync(new JobTypeLimits { MaxRunning = 3, RateLimit = new JobRateLimit(50, TimeSpan.FromMinutes(1)) });
        var changed = (await silo.FlowControl.GetAsync(new JobType(type)))!;
        Assert.Equal((3, true, "code"), (changed.MaxRunning, changed.Paused, changed.UpdatedBy));
        await silo.FlowControl.SetConcurrencyLimitAsync(new JobType(type), 7);
        await silo.FlowControl.SetRateLimitAsync(new JobType(type), null);
        var reset = await silo.FlowControl.ResetAsync(new JobType(type), "operator");
        Assert.Equal((3, new JobRateLimit(50, TimeSpan.FromMinutes(1)), true), (reset.MaxRunning, reset.RateLimit, reset.Paused));

        // A declaration removed from code lifts the limits it had set.
        await silo.ShutdownAsync();
        silo = await DeployAsync(null);
        var lifted = (await silo.FlowControl.GetAsync(new JobType(type)))!;
        Assert.Equal(((int?)null, (JobRateLimit?)null, true), (lifted.MaxRunning, lifted.RateLimit, lifted.Paused));

        // A type that never declared anything is not written at all.
        var plain = NewType("plain");
        var other = await harness.StartAsync();
        other.AddInitializer(TestInitializer.Completing(plain));
        await other.StartPollAsync();
        Assert.Null(await other.FlowControl.GetAsync(new JobType(plain)));
        Assert.Throws<ArgumentOutOfRangeException>(() => other.AddInitializer(new LimitedInitializer(NewType("bad"), new JobTypeLimits { MaxRunning = 0 })));
    }

    [Fact]
    public async Task Limits_declared_at_registration_on_a_host_replace_the_initializers_own()
    {
        var type = NewType("host");
        await using var hosts = new FoundationHosts();
        var silo = await hosts.StartSiloAsync(await db.CreateDatabaseAsync(), FoundationHosts.NewClusterId(), "job", s =>
        {
            s.Services.AddSingleton(new TypeLimitsProbe(type));
            s.Services.AddJobInitializer<LimitedHostJob>(limits => limits.MaxRunning = 1);
            s.Services.AddJobInitializer(TestInitializer.Completing(type));
        });

        var flow = silo.Services.GetRequiredService<JobFlowControl>();
        var declared = (await flow.GetAsync(new JobType(LimitedHostJob.TypeName(type))))!;
        Assert.Equal((1, "code"), (declared.MaxRunning, declared.UpdatedBy));
        Assert.Null(await flow.GetAsync(new JobType(type)));
        Assert.Same(silo.Services.GetRequiredService<JobClient>().Schedules, silo.Services.GetRequiredService<JobSchedules>());
    }

    [Fact]
    public async Task Priorities_reach_the_database_from_every_spawn_path_and_the_highest_runs_first()
    {
        await using var harness = new JobsHarness(db.ConnectionString);
        var jobs = await harness.StartAsync(b => b.PollerConfig(new JobPollerConfig { MaxJobsPerProcess = 1, MinJobsPerProcess = 1, ShutdownTimeout = TimeSpan.FromSeconds(2) }));
        var order = new System.Collections.Concurrent.ConcurrentQueue<int>();
        var init = new TestInitializer(NewType("priority"), (_, config, _) =>
        {
            order.Enqueue(config.Value);
            return Task.FromResult(JobCompletion.Complete());
        });
        var spawner = jobs.AddInitializer(init);

        var low = await spawner.SpawnAsync(JobId.New(), new TestConfig(0));
        var spec = await spawner.SpawnAsync(new JobSpec<TestConfig>(JobId.New(), new TestConfig(7)) { Priority = 7 });
        await using (var connection = await jobs.Client.Context.DataSource.OpenConnectionAsync())
        await using (var tx = await connection.BeginTransactionAsync())
        {
            await spawner.SpawnAsync(tx, new JobSpec<TestConfig>(JobId.New(), new TestConfig(5)) { Priority = 5 });
            await tx.CommitAsync();
        }

        var uniqueId = JobId.New();
        Assert.True(await spawner.SpawnUniqueAsync(new JobSpec<TestConfig>(uniqueId, new TestConfig(9)) { Priority = 9 }));
        Assert.False(await spawner.SpawnUniqueAsync(new JobSpec<TestConfig>(JobId.New(), new TestConfig(9)) { Priority = 9 }));
        var viaGrain = await jobs.GrainFactory.GetGrain<IJobTypeGrain>(init.JobType.Name).SpawnAsync(new JobSpawnRequest
        {
            Id = JobId.New(),
            ConfigJson = """{"value":3}""",
            Priority = 3,
        });

        Assert.Equal(9, await PriorityAsync(uniqueId));
        Assert.Equal(7, await PriorityAsync(spec.Id));
        Assert.Equal(3, await PriorityAsync(viaGrain.Id));
        Assert.Equal(0, await PriorityAsync(low.Id));

        await jobs.StartPollAsync();
        await JobsHarness.EventuallyAsync(() => Task.FromResult(order.Count), n => n == 5);
        // One runner: whether the silo claims them one by one or, once runs are seen to be short, ahead
        // in a batch, they start highest first (a claim returns its jobs by priority, then due time;
        // in due order, 7 and 0 would have started before 5 and 3).
        Assert.Equal([9, 7, 5, 3, 0], order);
    }

    private async Task<short> PriorityAsync(JobId id) =>
        await SqlHelper.ScalarAsync<short>(db.ConnectionString, "SELECT priority FROM job.job_executions WHERE id = @id", ("id", id.Value));

    private sealed class LimitedInitializer(string type, JobTypeLimits? limits) : IJobInitializer<TestConfig>
    {
        public JobType JobType { get; } = new(type);

        public JobTypeLimits? Limits => limits;

        public IJobRunner Init(Job job, JobSpawner<TestConfig> spawner) => TestInitializer.Completing(type).Init(job, spawner);
    }

    private sealed record TypeLimitsProbe(string BaseType);

    private sealed class LimitedHostJob(TypeLimitsProbe probe) : IJobInitializer<TestConfig>
    {
        public static string TypeName(string baseType) => baseType + "-host";

        public JobType JobType { get; } = new(TypeName(probe.BaseType));

        // Replaced by the limits given at registration.
        public JobTypeLimits? Limits => new() { MaxRunning = 99 };

        public IJobRunner Init(Job job, JobSpawner<TestConfig> spawner) => TestInitializer.Completing(JobType.Name).Init(job, spawner);
    }
}
