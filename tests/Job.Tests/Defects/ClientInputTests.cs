using Job.Tests.Foundation;
using Job.Tests.Infrastructure;
using Job.Tests.Runtime;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Job.Tests.Defects;

/// <summary>An invalid job type name from a client is the client's error, not the silo's (issue 10.19).</summary>
public sealed class ClientInputTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    [Fact]
    public async Task An_invalid_job_type_from_a_client_is_refused_without_an_error_in_the_silo_log()
    {
        var capture = new LogCapture();
        await using var harness = new JobsHarness(db.ConnectionString);
        var jobs = await harness.StartAsync(b => b.Logging(l => l.AddProvider(capture)));
        await jobs.StartPollAsync();
        await using var hosts = new FoundationHosts();
        var client = (await hosts.StartClientAsync(db.ConnectionString, "job", "job")).Services.GetRequiredService<IClusterClient>();

        var refused = await Assert.ThrowsAsync<InvalidJobTypeException>(() =>
            client.GetGrain<IJobTypeGrain>("no spaces; please").SpawnAsync(new JobSpawnRequest { Id = JobId.New(), ConfigJson = "{}" }));
        Assert.Contains("no spaces; please", refused.Message);
        await Assert.ThrowsAsync<InvalidJobTypeException>(() =>
            client.GetGrain<IJobTypeGrain>("-leading-dash").SpawnUniqueAsync(new JobSpawnRequest { Id = JobId.New(), ConfigJson = "{}" }));

        Assert.DoesNotContain(capture.Entries, e => e.Level >= LogLevel.Error);
    }
}
