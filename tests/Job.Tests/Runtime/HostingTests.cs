using Job.Tests.Foundation;
using Job.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Job.Tests.Runtime;

/// <summary>A job type whose initializer is built by DI, with a dependency of its own.</summary>
public sealed class GreetingService
{
    public ConcurrentBagOfIds Greeted { get; } = new();
}

public sealed class ConcurrentBagOfIds : System.Collections.Concurrent.ConcurrentBag<JobId>;

public sealed class DiInitializer(GreetingService greetings) : IJobInitializer<TestConfig>
{
    public static readonly string TypeName = $"di-{Guid.NewGuid():N}";

    public JobType JobType => new(TypeName);

    public IJobRunner Init(Job job, JobSpawner<TestConfig> spawner) => new Runner(greetings);

    private sealed class Runner(GreetingService greetings) : IJobRunner
    {
        public Task<JobCompletion> RunAsync(CurrentJob currentJob, CancellationToken cancellationToken)
        {
            greetings.Greeted.Add(currentJob.Id);
            return Task.FromResult(JobCompletion.Complete());
        }
    }
}

public sealed class HostingTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    [Fact]
    public async Task AddJobs_with_AddJobInitializer_makes_the_spawner_injectable_and_runs_jobs()
    {
        await using var hosts = new FoundationHosts();
        var silo = await hosts.StartSiloAsync(db.ConnectionString, FoundationHosts.NewClusterId(), "job", s =>
        {
            s.Services.AddSingleton<GreetingService>();
            s.Services.AddJobInitializer<DiInitializer>();
        });

        var spawner = silo.Services.GetRequiredService<JobSpawner<TestConfig>>();
        Assert.Equal(DiInitializer.TypeName, spawner.JobType.Name);
        var job = await spawner.SpawnAsync(JobId.New(), new TestConfig());
        var grains = silo.Services.GetRequiredService<IGrainFactory>();
        var done = await grains.GetGrain<IJobGrain>(job.Id.Value).AwaitCompletionAsync(TimeSpan.FromSeconds(15));

        Assert.Equal(JobStatus.Completed, done.Status);
        Assert.Contains(job.Id, silo.Services.GetRequiredService<GreetingService>().Greeted);

        // Orleans' membership clock counts from the silo's start: the watchdog's unset timestamp (0)
        // reads as seconds since then, not as the machine's uptime (a false "deadlock" warning at start).
        var membershipClock = silo.Services.GetRequiredKeyedService<TimeProvider>(Orleans.Runtime.TimeProviderNames.Membership);
        var processAge = DateTime.Now - System.Diagnostics.Process.GetCurrentProcess().StartTime;
        Assert.True(membershipClock.GetElapsedTime(0) <= processAge,
            $"an unset timestamp reads as {membershipClock.GetElapsedTime(0)}, older than this process ({processAge})");
        Assert.Equal(TimeProvider.System.GetUtcNow().UtcDateTime, membershipClock.GetUtcNow().UtcDateTime, TimeSpan.FromSeconds(1));
    }

    [Fact]
    public void AddJobInitializer_rejects_a_type_that_is_not_an_initializer()
    {
        var services = new ServiceCollection();
        var ex = Assert.Throws<ArgumentException>(() => services.AddJobInitializer<GreetingService>());
        Assert.Contains("IJobInitializer<TConfig>", ex.Message);
    }
}
