using Job.Tests.Infrastructure;
using Npgsql;

namespace Job.Tests.Runtime;

/// <summary>The …WithTx completions: the runner's business writes and the job's state change commit together.</summary>
public sealed class TransactionTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>, IAsyncLifetime
{
    private static string NewType(string prefix) => $"{prefix}-{Guid.NewGuid():N}";

    public Task InitializeAsync() => SqlHelper.ExecuteAsync(db.ConnectionString, """
        CREATE TABLE IF NOT EXISTS parents (id int PRIMARY KEY);
        CREATE TABLE IF NOT EXISTS business (
            job_id uuid PRIMARY KEY,
            parent int REFERENCES parents (id) DEFERRABLE INITIALLY DEFERRED);
        """);

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task CompleteWithTx_commits_business_write_and_completion_together()
    {
        await using var harness = new JobsHarness(db.ConnectionString);
        var jobs = await harness.StartAsync();
        var spawner = jobs.AddInitializer(new TestInitializer(NewType("with-tx"), (current, _, ct) => WriteAsync(current, parent: null, ct)));
        await jobs.StartPollAsync();
        var job = await spawner.SpawnAsync(JobId.New(), new TestConfig());

        var found = await JobsHarness.EventuallyAsync(() => jobs.FindAsync(job.Id), j => j.Completed);
        Assert.Equal(JobTerminalState.Completed, found.TerminalState);
        Assert.Equal(1L, await SqlHelper.ScalarAsync<long>(db.ConnectionString, "SELECT count(*) FROM business WHERE job_id = @id", ("id", job.Id.Value)));
    }

    [Fact]
    public async Task When_the_commit_fails_neither_the_business_write_nor_the_completion_is_written()
    {
        await using var harness = new JobsHarness(db.ConnectionString);
        var jobs = await harness.StartAsync();
        // parent 404 does not exist: the deferred foreign key fails at COMMIT, after the completion was written into the transaction.
        var init = new TestInitializer(NewType("with-tx-fails"), (current, _, ct) => WriteAsync(current, parent: 404, ct))
        {
            // No healthy-gap reset (an extra attempt) however late a loaded machine runs the retry.
            RetryOnErrorSettings = new RetrySettings { NAttempts = 2, MinBackoff = TimeSpan.FromMilliseconds(500), BackoffJitterPct = 0, AttemptResetAfterBackoffMultiples = 1000 },
        };
        var spawner = jobs.AddInitializer(init);
        await jobs.StartPollAsync();
        var job = await spawner.SpawnAsync(JobId.New(), new TestConfig());

        var found = await JobsHarness.EventuallyAsync(() => jobs.FindAsync(job.Id), j => j.Completed);
        Assert.Equal(JobTerminalState.Errored, found.TerminalState); // never completed: both runs' commits failed
        Assert.DoesNotContain(found.Events, e => e.Type == JobEventTypes.JobCompleted);
        Assert.Equal(2, found.Events.Count(e => e.Type == JobEventTypes.ExecutionErrored));
        Assert.All(found.Events.Where(e => e.Type == JobEventTypes.ExecutionErrored), e => Assert.Contains("violates foreign key", e.ErrorMessage));
        Assert.Equal(0L, await SqlHelper.ScalarAsync<long>(db.ConnectionString, "SELECT count(*) FROM business WHERE job_id = @id", ("id", job.Id.Value)));
    }

    [Fact]
    public async Task RescheduleInWithTx_and_state_update_in_tx_commit_together()
    {
        var (clock, controller) = ClockHandle.Artificial(ArtificialClockConfig.Manual());
        await using var harness = new JobsHarness(db.ConnectionString);
        var jobs = await harness.StartAsync(b => b.Clock(clock));
        var init = new TestInitializer(NewType("resched-tx"), async (current, _, ct) =>
        {
            var runs = current.ExecutionState<int>() + 1;
            if (runs > 1)
            {
                return JobCompletion.Complete();
            }

            var connection = await current.DataSource.OpenConnectionAsync(ct);
            var tx = await connection.BeginTransactionAsync(ct);
            await current.UpdateExecutionStateAsync(tx, runs, ct);
            return JobCompletion.RescheduleInWithTx(tx, TimeSpan.FromMinutes(1));
        });
        var spawner = jobs.AddInitializer(init);
        await jobs.StartPollAsync();
        var job = await spawner.SpawnAsync(JobId.New(), new TestConfig());
        // The reschedule commits after three round trips in the run: advance only once it is written.
        await JobsHarness.WaitScheduledAsync(jobs, job.Id, 2);
        await controller.AdvanceAsync(TimeSpan.FromMinutes(1));

        var found = await JobsHarness.EventuallyAsync(() => jobs.FindAsync(job.Id), j => j.Completed);
        Assert.Equal(JobTerminalState.Completed, found.TerminalState);
        Assert.Equal(2, init.Runs.Count);
    }

    [Fact]
    public async Task The_runtime_closes_the_runners_transaction_and_connection()
    {
        // A small pool: were the runners' connections left open, it would run dry long before 60 jobs.
        await using var harness = new JobsHarness(db.ConnectionString + ";Maximum Pool Size=12;Timeout=5");
        var jobs = await harness.StartAsync();
        var spawner = jobs.AddInitializer(new TestInitializer(NewType("tx-pool"), (current, _, ct) => WriteAsync(current, parent: null, ct)));
        await jobs.StartPollAsync();
        var spawned = await spawner.SpawnAllAsync(Enumerable.Range(0, 60).Select(i => new JobSpec<TestConfig>(JobId.New(), new TestConfig(i))));

        foreach (var job in spawned)
        {
            var done = await jobs.AwaitCompletionAsync(job.Id, TimeSpan.FromSeconds(30));
            Assert.Equal(JobStatus.Completed, done.Status);
        }
    }

    private static async Task<JobCompletion> WriteAsync(CurrentJob current, int? parent, CancellationToken ct)
    {
        var connection = await current.DataSource.OpenConnectionAsync(ct);
        var tx = await connection.BeginTransactionAsync(ct);
        await using (var cmd = new NpgsqlCommand("INSERT INTO business (job_id, parent) VALUES (@id, @parent)", connection, tx))
        {
            cmd.Parameters.AddWithValue("id", current.Id.Value);
            cmd.Parameters.AddWithValue("parent", (object?)parent ?? DBNull.Value);
            await cmd.ExecuteNonQueryAsync(ct);
        }

        return JobCompletion.CompleteWithTx(tx);
    }
}
