using Job.Tests.Infrastructure;
using Job.Tests.Runtime;
using Npgsql;

namespace Job.Tests.Defects;

/// <summary>
/// Shutdown hands back only what is really unfinished: a runner that honours its token is not
/// charged a failed attempt (issue 10.5), and a run that returned Complete is written, not handed
/// back because its completion was still on its way to the database (10.6).
/// </summary>
public sealed class ShutdownTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    private static string NewType(string prefix) => $"{prefix}-{Guid.NewGuid():N}";

    [Fact]
    public async Task A_runner_that_honours_its_token_is_handed_back_not_charged_an_attempt()
    {
        await using var harness = new JobsHarness(db.ConnectionString);
        var jobs = await harness.StartAsync();
        var started = new TaskCompletionSource();
        var init = new TestInitializer(NewType("honours"), async (_, _, ct) =>
        {
            started.TrySetResult();
            await Task.Delay(Timeout.InfiniteTimeSpan, ct); // throws OperationCanceledException at shutdown
            return JobCompletion.Complete();
        })
        {
            RetryOnErrorSettings = new RetrySettings { NAttempts = 1 },
        };
        var spawner = jobs.AddInitializer(init);
        await jobs.StartPollAsync();
        var job = await spawner.SpawnAsync(JobId.New(), new TestConfig());
        await started.Task.WaitAsync(TimeSpan.FromSeconds(30));

        await jobs.ShutdownAsync();

        var found = await JobsHarness.EventuallyAsync(() => harness.FindAsync(job.Id), j => j.Events.Any(e => e.Type == JobEventTypes.ExecutionAborted));
        Assert.Null(found.TerminalState);
        Assert.DoesNotContain(found.Events, e => e.Type is JobEventTypes.ExecutionErrored or JobEventTypes.JobErrored);
        Assert.Contains(found.Events, e => e.Type == JobEventTypes.ExecutionAborted);
        Assert.Equal(1, found.Events.Last(e => e.Type == JobEventTypes.ExecutionScheduled).Attempt);
    }

    [Fact]
    public async Task Completions_still_being_written_at_shutdown_are_written_not_handed_back()
    {
        await using var harness = new JobsHarness(db.ConnectionString);
        var jobs = await harness.StartAsync(b => b.PollerConfig(new JobPollerConfig { ShutdownTimeout = TimeSpan.FromSeconds(1) }));
        var gate = new TaskCompletionSource();
        var init = new TestInitializer(NewType("inflight"), async (_, _, _) =>
        {
            await gate.Task;
            return JobCompletion.Complete();
        });
        var spawner = jobs.AddInitializer(init);
        await jobs.StartPollAsync();
        var spawned = await spawner.SpawnAllAsync(Enumerable.Range(0, 5).Select(_ => new JobSpec<TestConfig>(JobId.New(), new TestConfig())));
        await JobsHarness.EventuallyAsync(() => Task.FromResult(init.Runs.Count), n => n == 5);

        // Hold every completion at the database: they all update the jobs table.
        await using var blocker = new NpgsqlConnection(db.ConnectionString);
        await blocker.OpenAsync();
        var lockTx = await blocker.BeginTransactionAsync();
        await using (var lockJobs = new NpgsqlCommand("LOCK TABLE jobs IN SHARE MODE", blocker, lockTx))
        {
            await lockJobs.ExecuteNonQueryAsync();
        }

        gate.SetResult(); // every run returns Complete now; the completions wait on the lock
        await JobsHarness.EventuallyAsync(() => BlockedStatementsAsync(), n => n >= 1);
        var shutdown = jobs.ShutdownAsync();
        // Past the shutdown timeout (a hand-back would have been written by now), let the completions through.
        await Task.WhenAny(shutdown, Task.Delay(TimeSpan.FromSeconds(3)));
        await lockTx.CommitAsync();
        await shutdown.WaitAsync(TimeSpan.FromSeconds(60));

        foreach (var job in spawned)
        {
            var found = await harness.FindAsync(job.Id);
            Assert.True(found.TerminalState == JobTerminalState.Completed, $"job {job.Id} ended {found.TerminalState?.ToString() ?? "unfinished"}: {string.Join(", ", found.Events.Select(e => e.Type))}");
            Assert.DoesNotContain(found.Events, e => e.Type == JobEventTypes.ExecutionAborted);
        }

        Assert.Equal(5, init.Runs.Count);
    }

    private async Task<long> BlockedStatementsAsync() =>
        await SqlHelper.ScalarAsync<long>(db.ConnectionString,
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'");
}
