using Job.Tests.Infrastructure;
using Npgsql;

namespace Job.Tests.Runtime;

/// <summary>The crate suite's gaps around failures: retries with backoff end to end, exhaustion,
/// exceptions and Init failures in the history, execution state across retries.</summary>
public sealed class RetryTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    private static string NewType(string prefix) => $"{prefix}-{Guid.NewGuid():N}";

    [Fact]
    public async Task Gap_retry_with_backoff_under_artificial_clock_then_exhaustion_ends_errored()
    {
        var (clock, controller) = ClockHandle.Artificial(ArtificialClockConfig.Manual());
        var start = clock.Now;
        await using var harness = new JobsHarness(db.ConnectionString);
        var jobs = await harness.StartAsync(b => b.Clock(clock));
        var init = new TestInitializer(NewType("retry"), (current, _, _) =>
            throw new InvalidOperationException($"boom {current.Attempt}"))
        {
            RetryOnErrorSettings = new RetrySettings { NAttempts = 3, MinBackoff = TimeSpan.FromSeconds(10), BackoffJitterPct = 0 },
        };
        var spawner = jobs.AddInitializer(init);
        await jobs.StartPollAsync();
        var job = await spawner.SpawnAsync(JobId.New(), new TestConfig());

        await JobsHarness.WaitScheduledAsync(jobs, job.Id, 2); // retry written at start + 10 s before the clock moves
        await Task.Delay(300);
        Assert.Single(init.Runs); // the retry waits for the application clock

        await controller.AdvanceAsync(TimeSpan.FromSeconds(10));
        await JobsHarness.EventuallyAsync(() => Task.FromResult(init.Runs.Count), n => n == 2);
        await JobsHarness.WaitScheduledAsync(jobs, job.Id, 3);
        await controller.AdvanceAsync(TimeSpan.FromSeconds(19));
        await Task.Delay(300);
        Assert.Equal(2, init.Runs.Count); // second backoff is 20 s, not 19
        await controller.AdvanceAsync(TimeSpan.FromSeconds(1));

        var found = await JobsHarness.EventuallyAsync(() => jobs.FindAsync(job.Id), j => j.Completed);
        Assert.Equal(JobTerminalState.Errored, found.TerminalState);
        var runs = init.Runs.ToArray();
        Assert.Equal([1, 2, 3], runs.Select(r => r.Attempt));
        Assert.Equal(start, runs[0].Now);
        Assert.Equal(start.AddSeconds(10), runs[1].Now);
        Assert.Equal(start.AddSeconds(30), runs[2].Now);

        var errors = found.Events.Where(e => e.Type == JobEventTypes.ExecutionErrored).ToList();
        Assert.Equal(["boom 1", "boom 2", "boom 3"], errors.Select(e => e.ErrorMessage));
        Assert.All(errors, e => Assert.Equal(typeof(InvalidOperationException).FullName, e.ErrorType));
        Assert.Equal(JobEventTypes.JobErrored, found.Events[^1].Type);
        Assert.Equal([1, 2, 3], found.Events.Where(e => e.Type == JobEventTypes.ExecutionScheduled).Select(e => e.Attempt ?? 0));

        var snapshot = await jobs.GrainFactory.GetGrain<IJobGrain>(job.Id.Value).GetSnapshotAsync();
        Assert.Equal(JobStatus.Errored, snapshot.Status);
        Assert.Equal("boom 3", snapshot.LastError);
    }

    [Fact]
    public async Task Gap_init_failure_is_a_failed_attempt_and_does_not_strand_the_batch()
    {
        await using var harness = new JobsHarness(db.ConnectionString);
        var jobs = await harness.StartAsync();
        var init = new TestInitializer(NewType("init-fails"), (_, _, _) => Task.FromResult(JobCompletion.Complete()))
        {
            RetryOnErrorSettings = new RetrySettings { NAttempts = 1 },
            InitFailure = job => job.Config<TestConfig>().Value < 0 ? new ArgumentException("negative value") : null,
        };
        var spawner = jobs.AddInitializer(init);
        var specs = Enumerable.Range(-1, 6).Select(i => new JobSpec<TestConfig>(JobId.New(), new TestConfig(i))).ToList();
        await spawner.SpawnAllAsync(specs);
        await jobs.StartPollAsync(); // all six are claimed in one batch

        foreach (var spec in specs)
        {
            var found = await JobsHarness.EventuallyAsync(() => jobs.FindAsync(spec.Id), j => j.Completed);
            Assert.Equal(spec.Config.Value < 0 ? JobTerminalState.Errored : JobTerminalState.Completed, found.TerminalState);
        }

        var failed = await jobs.FindAsync(specs[0].Id);
        var error = Assert.Single(failed.Events, e => e.Type == JobEventTypes.ExecutionErrored);
        Assert.Equal("negative value", error.ErrorMessage);
        Assert.Equal(typeof(ArgumentException).FullName, error.ErrorType);
    }

    [Fact]
    public async Task Gap_execution_state_survives_retries_and_is_deleted_at_the_end()
    {
        await using var harness = new JobsHarness(db.ConnectionString);
        var jobs = await harness.StartAsync();
        var seen = new List<int>();
        var init = new TestInitializer(NewType("state"), async (current, _, ct) =>
        {
            var state = current.ExecutionState<int>();
            seen.Add(state);
            await current.UpdateExecutionStateAsync(state + 1, ct);
            return state < 2 ? throw new InvalidOperationException("not yet") : JobCompletion.Complete();
        })
        {
            // No healthy-gap reset however late a loaded machine runs a retry (3 x 400 ms by default).
            RetryOnErrorSettings = new RetrySettings { MinBackoff = TimeSpan.FromMilliseconds(400), BackoffJitterPct = 0, AttemptResetAfterBackoffMultiples = 1000 },
        };
        var spawner = jobs.AddInitializer(init);
        await jobs.StartPollAsync();
        var job = await spawner.SpawnAsync(JobId.New(), new TestConfig());

        var found = await JobsHarness.EventuallyAsync(() => jobs.FindAsync(job.Id), j => j.Completed);
        Assert.Equal(JobTerminalState.Completed, found.TerminalState);
        Assert.Equal([0, 1, 2], seen);
        Assert.Equal([1, 2, 3], init.Runs.Select(r => r.Attempt));
        Assert.Equal(0L, await CountAsync("SELECT count(*) FROM job_executions WHERE id = @id", job.Id));
    }

    [Fact]
    public async Task Gap_reschedule_loop_resets_attempt_and_follows_the_clock()
    {
        var (clock, controller) = ClockHandle.Artificial(ArtificialClockConfig.Manual());
        await using var harness = new JobsHarness(db.ConnectionString);
        var jobs = await harness.StartAsync(b => b.Clock(clock));
        var runs = 0;
        var init = new TestInitializer(NewType("reschedule"), (current, _, _) =>
        {
            var n = Interlocked.Increment(ref runs);
            return Task.FromResult(n switch
            {
                1 => throw new InvalidOperationException("first run fails"),
                < 4 => JobCompletion.RescheduleIn(TimeSpan.FromMinutes(5)),
                _ => JobCompletion.Complete(),
            });
        })
        {
            RetryOnErrorSettings = new RetrySettings { MinBackoff = TimeSpan.FromSeconds(1), BackoffJitterPct = 0 },
        };
        var spawner = jobs.AddInitializer(init);
        await jobs.StartPollAsync();
        var job = await spawner.SpawnAsync(JobId.New(), new TestConfig());

        // Each advance waits until the run's outcome (retry, reschedule) is written on the clock as it was.
        await JobsHarness.WaitScheduledAsync(jobs, job.Id, 2);
        await controller.AdvanceAsync(TimeSpan.FromSeconds(1));
        await JobsHarness.EventuallyAsync(() => Task.FromResult(init.Runs.Count), n => n == 2);
        for (var expected = 3; expected <= 4; expected++)
        {
            await JobsHarness.WaitScheduledAsync(jobs, job.Id, expected);
            await Task.Delay(200);
            Assert.Equal(expected - 1, init.Runs.Count);
            await controller.AdvanceAsync(TimeSpan.FromMinutes(5));
            await JobsHarness.EventuallyAsync(() => Task.FromResult(init.Runs.Count), n => n == expected);
        }

        var found = await JobsHarness.EventuallyAsync(() => jobs.FindAsync(job.Id), j => j.Completed);
        Assert.Equal(JobTerminalState.Completed, found.TerminalState);
        Assert.Equal([1, 2, 1, 1], init.Runs.Select(r => r.Attempt)); // a reschedule resets the counter
        var scheduled = found.Events.Where(e => e.Type == JobEventTypes.ExecutionScheduled).ToList();
        Assert.Equal(4, scheduled.Count);
        Assert.Equal(init.Runs.ToArray()[2].Now, scheduled[2].ScheduledAt);
    }

    private async Task<long> CountAsync(string sql, JobId id)
    {
        await using var connection = new NpgsqlConnection(db.ConnectionString);
        await connection.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, connection);
        cmd.Parameters.AddWithValue("id", id.Value);
        return (long)(await cmd.ExecuteScalarAsync())!;
    }
}
