using Job.Claims;
using Job.Completion;
using Job.Hosting;
using Job.Storage;
using Job.Tests.Infrastructure;
using Job.Tests.Runtime;
using Npgsql;

namespace Job.Tests.Defects;

/// <summary>
/// Writing a run's outcome fails safely: a failed statement gives its connection back to the pool
/// (issue 10.7), and one bad row in a group commit costs only that row, while each result is
/// matched by its claim, not by its job id (10.8).
/// </summary>
public sealed class CompletionWriteTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    [Fact]
    public async Task A_completion_statement_that_times_out_gives_its_connection_back()
    {
        var cs = await db.CreateDatabaseAsync();
        // The pool's wait (Timeout) is what fails the last open if connections leaked; 15 s, so that a
        // connection opened while the machine is busy (password hashing, a forked backend) is not mistaken for it.
        var smallPool = new NpgsqlConnectionStringBuilder(cs) { MaxPoolSize = 2, Timeout = 15, Options = "-c statement_timeout=300" }.ConnectionString;
        await using var runtime = new JobRuntime(new JobsOptions { ConnectionString = smallPool });
        await JobMigrations.RunAsync(runtime.DataSource);
        var claims = await SpawnAndClaimAsync(runtime, 1);

        // Another session holds the row, so every completion of it waits until its statement times out.
        await using var holder = new NpgsqlConnection(cs);
        await holder.OpenAsync();
        await using var tx = await holder.BeginTransactionAsync();
        await using (var hold = new NpgsqlCommand("SELECT 1 FROM job_executions WHERE id = @id FOR UPDATE", holder, tx))
        {
            hold.Parameters.AddWithValue("id", claims[0].Id.Value);
            await hold.ExecuteNonQueryAsync();
        }

        for (var i = 0; i < 3; i++)
        {
            var failed = await Assert.ThrowsAsync<PostgresException>(() =>
                runtime.Queue.FinishAsync([new RunOutcome(claims[0], OutcomeKind.Completed)], DateTimeOffset.UtcNow, null, CancellationToken.None));
            Assert.Equal(PostgresErrorCodes.QueryCanceled, failed.SqlState);
        }

        // With the connections leaked, the pool of two would be empty and this would time out.
        await using var connection = await runtime.DataSource.OpenConnectionAsync();
        await using var probe = new NpgsqlCommand("SELECT 1", connection);
        Assert.Equal(1, await probe.ExecuteScalarAsync());
    }

    [Fact]
    public async Task One_bad_row_in_a_group_commit_fails_alone_and_results_are_matched_by_claim()
    {
        var cs = await db.CreateDatabaseAsync();
        await using var runtime = new JobRuntime(new JobsOptions { ConnectionString = cs });
        await JobMigrations.RunAsync(runtime.DataSource);
        var claims = await SpawnAndClaimAsync(runtime, 10);
        var bad = claims[6];
        await SqlHelper.ExecuteAsync(cs, $"""
            CREATE FUNCTION test_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.job_id = '{bad.Id.Value}' THEN RAISE EXCEPTION 'refused for the test'; END IF;
                RETURN NEW;
            END $$;
            CREATE TRIGGER test_refuse BEFORE INSERT ON job_events FOR EACH ROW EXECUTE FUNCTION test_refuse();
            """);

        await using var batcher = new JobCompleter(runtime, Microsoft.Extensions.Logging.Abstractions.NullLogger<JobCompleter>.Instance);
        // Keep every batch writer busy: each of the first completions waits on a row another session
        // holds. The other ones, and a stale copy of one of them (an old claim token), then queue up
        // and go in one batch once the rows are released.
        await using var blocker = new NpgsqlConnection(cs);
        await blocker.OpenAsync();
        var lockTx = await blocker.BeginTransactionAsync();
        await using (var hold = new NpgsqlCommand("SELECT 1 FROM job_executions WHERE id = ANY(@ids) FOR UPDATE", blocker, lockTx))
        {
            hold.Parameters.AddWithValue("ids", claims.Take(JobCompleter.Writers).Select(c => c.Id.Value).ToArray());
            await hold.ExecuteNonQueryAsync();
        }

        var results = new List<Task<bool>>();
        for (var i = 0; i < JobCompleter.Writers; i++)
        {
            results.Add(batcher.SubmitAsync(new RunOutcome(claims[i], OutcomeKind.Completed)));
            var waiting = i + 1;
            await JobsHarness.EventuallyAsync(() => LockWaitersAsync(cs), n => n == waiting);
        }

        var current = claims[4];
        var staleResult = batcher.SubmitAsync(new RunOutcome(current with { ClaimToken = current.ClaimToken - 1_000_000 }, OutcomeKind.Completed));
        results.AddRange(claims.Skip(JobCompleter.Writers).Select(c => batcher.SubmitAsync(new RunOutcome(c, OutcomeKind.Completed))));
        await lockTx.CommitAsync();

        var outcomes = await Task.WhenAll(results.Select(async r =>
        {
            try
            {
                return (bool?)await r;
            }
            catch (PostgresException)
            {
                return null;
            }
        }));
        Assert.False(await staleResult);
        for (var i = 0; i < claims.Count; i++)
        {
            Assert.Equal(claims[i] == bad ? null : true, outcomes[i]);
        }

        Assert.Equal(9L, await SqlHelper.ScalarAsync<long>(cs, "SELECT count(*) FROM jobs WHERE terminal_state = 'completed'"));
    }

    private static async Task<List<ClaimedJob>> SpawnAndClaimAsync(JobRuntime runtime, int count)
    {
        var type = new JobType($"write-{Guid.NewGuid():N}");
        var spawner = new JobSpawner<TestConfig>(type, runtime.Context);
        await spawner.SpawnAllAsync(Enumerable.Range(0, count).Select(i => new JobSpec<TestConfig>(JobId.New(), new TestConfig(i))));
        var claimed = (await runtime.Queue.ClaimAsync([type.Name], [count], [0], count, new SiloIdentity("test-silo", null, "", 0, 0), DateTimeOffset.UtcNow.AddSeconds(1), CancellationToken.None)).Claims;
        Assert.Equal(count, claimed.Count);
        return [.. claimed];
    }

    private static Task<long> LockWaitersAsync(string cs) =>
        SqlHelper.ScalarAsync<long>(cs, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'");
}
