using System.Collections.Concurrent;
using Job.Tests.Infrastructure;
using Npgsql;

namespace Job.Tests.Runtime;

/// <summary>
/// Job's own statements run on a pool that skips Npgsql's session reset; the connections a job's code
/// opens (<c>CurrentJob.DataSource</c>) come from one that keeps it, so what a job sets for its
/// session ends with it.
/// </summary>
public sealed class SessionStateTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    [Fact]
    public async Task A_setting_a_job_leaves_on_its_connection_does_not_reach_the_next_job_on_it()
    {
        await using var harness = new JobsHarness(db.ConnectionString);
        var jobs = await harness.StartAsync();
        var seen = new ConcurrentQueue<(int Backend, string ApplicationName)>();
        var spawner = jobs.AddInitializer(new TestInitializer($"session-{Guid.NewGuid():N}", async (current, _, ct) =>
        {
            seen.Enqueue(await CheckoutAsync(current.DataSource, "SET application_name = 'left-by-a-job'", ct));
            return JobCompletion.Complete();
        }));
        await jobs.StartPollAsync();

        foreach (var _ in Enumerable.Range(0, 2))
        {
            var job = await spawner.SpawnAsync(JobId.New(), new TestConfig());
            var found = await JobsHarness.EventuallyAsync(() => jobs.FindAsync(job.Id), j => j.Completed);
            Assert.Equal(JobTerminalState.Completed, found.TerminalState);
        }

        var runs = seen.ToArray();
        Assert.Equal(2, runs.Length);
        Assert.Equal(runs[0].Backend, runs[1].Backend); // the second job got the first one's connection back from the pool
        Assert.NotEqual("left-by-a-job", runs[1].ApplicationName);
    }

    [Fact]
    public async Task Jobs_own_pool_hands_a_connection_back_as_it_was_left_unless_the_connection_string_asks_for_the_reset()
    {
        // No silo and no listener: the client's statement pool holds one idle connection between uses.
        await using var client = JobClient.Create(new JobClientOptions { ConnectionString = db.ConnectionString });
        var (first, second) = await TwoCheckoutsAsync(client.Context.DataSource);
        Assert.Equal(first.Backend, second.Backend);
        Assert.Equal("left-by-job", second.ApplicationName); // not reset: the seven statements of Npgsql's reset were never sent

        var asked = new NpgsqlConnectionStringBuilder(db.ConnectionString) { NoResetOnClose = false }.ConnectionString;
        await using var resetting = JobClient.Create(new JobClientOptions { ConnectionString = asked });
        (first, second) = await TwoCheckoutsAsync(resetting.Context.DataSource);
        Assert.Equal(first.Backend, second.Backend);
        Assert.NotEqual("left-by-job", second.ApplicationName);
    }

    private static async Task<((int Backend, string ApplicationName) First, (int Backend, string ApplicationName) Second)> TwoCheckoutsAsync(NpgsqlDataSource pool)
    {
        var first = await CheckoutAsync(pool, "SET application_name = 'left-by-job'", CancellationToken.None);
        var second = await CheckoutAsync(pool, null, CancellationToken.None);
        return (first, second);
    }

    /// <summary>Reads the backend and its application_name, then runs <paramref name="then"/> on the same connection.</summary>
    private static async Task<(int Backend, string ApplicationName)> CheckoutAsync(NpgsqlDataSource pool, string? then, CancellationToken ct)
    {
        await using var connection = await pool.OpenConnectionAsync(ct);
        (int, string) seen;
        await using (var read = new NpgsqlCommand("SELECT pg_backend_pid(), current_setting('application_name')", connection))
        await using (var reader = await read.ExecuteReaderAsync(ct))
        {
            await reader.ReadAsync(ct);
            seen = (reader.GetInt32(0), reader.GetString(1));
        }

        if (then is not null)
        {
            await using var set = new NpgsqlCommand(then, connection);
            await set.ExecuteNonQueryAsync(ct);
        }

        return seen;
    }
}
