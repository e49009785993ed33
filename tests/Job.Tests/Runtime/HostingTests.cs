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
    }

    [Fact]
    public void AddJobInitializer_rejects_a_type_that_is_not_an_initializer()
    {
        var services = new ServiceCollection();
        var ex = Assert.Throws<ArgumentException>(() => services.AddJobInitializer<GreetingService>());
        Assert.Contains("IJobInitializer<TConfig>", ex.Message);
    }
}
