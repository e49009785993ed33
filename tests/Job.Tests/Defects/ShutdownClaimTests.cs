using Job.Tests.Infrastructure;
using Job.Tests.Runtime;
using Npgsql;

namespace Job.Tests.Defects;

/// <summary>
/// A claim the database committed is recorded and handled even when shutdown begins while its
/// answer is still on the way (issue 10.6): the stop signal must not cancel the claim statement,
/// or the claimed job stays running under a silo that no longer exists.
/// </summary>
public sealed class ShutdownClaimTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    [Fact]
    public async Task A_claim_committed_as_shutdown_begins_is_handed_back_or_run_never_stranded()
    {
        var cs = await db.CreateDatabaseAsync();
        await using var proxy = TcpProxy.ForPostgres(cs);
        await using var harness = new JobsHarness(proxy.Route(cs));
        var jobs = await harness.StartAsync(b => b.PollerConfig(new JobPollerConfig
        {
            MaxPollInterval = TimeSpan.FromMinutes(1),
            ShutdownTimeout = TimeSpan.FromSeconds(1),
        }));
        var type = $"late-claim-{Guid.NewGuid():N}";
        var spawner = jobs.AddInitializer(TestInitializer.Completing(type));
        await jobs.StartPollAsync();
        var warmUp = await spawner.SpawnAsync(JobId.New(), new TestConfig());
        await JobsHarness.EventuallyAsync(() => harness.FindAsync(warmUp.Id), j => j.Completed);

        // From now on the database's answers reach the silo 4 s late: the claim of the next job
        // commits at once, its result is still on the way when shutdown begins.
        Assert.True(proxy.DelayServerBytes(TimeSpan.FromSeconds(4)) > 0);
        var id = JobId.New();
        await using (var direct = new NpgsqlConnection(cs))
        {
            await direct.OpenAsync();
            await using var tx = await direct.BeginTransactionAsync();
            await spawner.SpawnAsync(tx, id, new TestConfig());
            await tx.CommitAsync();
        }

        await JobsHarness.EventuallyAsync(() => SqlHelper.ScalarAsync<string>(cs, "SELECT state FROM job_executions WHERE id = @id", ("id", id.Value)), s => s == "running");
        await jobs.ShutdownAsync().WaitAsync(TimeSpan.FromSeconds(90));

        var found = await harness.FindAsync(id);
        var state = await SqlHelper.ScalarAsync<string?>(cs, "SELECT state FROM job_executions WHERE id = @id", ("id", id.Value));
        Assert.True(found.Completed || (state == "pending" && found.Events.Any(e => e.Type == JobEventTypes.ExecutionAborted)),
            $"after shutdown the job is {state ?? "gone"}: {string.Join(", ", found.Events.Select(e => e.Type))}");
    }
}
