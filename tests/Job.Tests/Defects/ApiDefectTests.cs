using Job.Tests.Infrastructure;
using Job.Tests.Runtime;
using Microsoft.Extensions.DependencyInjection;

namespace Job.Tests.Defects;

/// <summary>A unique spawn leaves the process's spawner usable (issue 10.18).</summary>
public sealed class ApiDefectTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    [Fact]
    public async Task A_unique_spawn_does_not_disable_the_spawner_and_still_creates_one_job_per_type()
    {
        await using var harness = new JobsHarness(db.ConnectionString);
        var jobs = await harness.StartAsync();
        var spawner = jobs.AddInitializer(TestInitializer.Completing($"unique-{Guid.NewGuid():N}"));
        await jobs.StartPollAsync();

        Assert.True(await spawner.SpawnUniqueAsync(JobId.New(), new TestConfig(1)));
        Assert.False(await spawner.SpawnUniqueAsync(JobId.New(), new TestConfig(2)));
        var plain = await spawner.SpawnAsync(JobId.New(), new TestConfig(3)); // the same spawner still spawns
        Assert.Equal(JobStatus.Completed, (await jobs.AwaitCompletionAsync(plain.Id, TimeSpan.FromSeconds(60))).Status);
    }
}
