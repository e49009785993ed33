using Job.Tests.Infrastructure;
using Job.Tests.Runtime;

namespace Job.Tests.Defects;

/// <summary>
/// The healthy-gap reset of the attempt counter (the crate's rule) fires only for a run that was
/// healthy for long before it failed, never for a retry that merely waited to start (issue 10.11).
/// </summary>
public sealed class AttemptCountingTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    private static readonly RetrySettings Settings = new()
    {
        NAttempts = 3,
        MinBackoff = TimeSpan.FromSeconds(1),
        MaxBackoff = TimeSpan.FromSeconds(1),
        BackoffJitterPct = 0,
        AttemptResetAfterBackoffMultiples = 3,
    };

    [Fact]
    public async Task A_retry_that_started_late_does_not_reset_the_counter_and_the_job_ends_errored()
    {
        var (clock, controller) = ClockHandle.Artificial(ArtificialClockConfig.Manual());
        await using var harness = new JobsHarness(db.ConnectionString);
        var init = new TestInitializer($"late-{Guid.NewGuid():N}", (current, _, _) => throw new InvalidOperationException($"boom {current.Attempt}"))
        {
            RetryOnErrorSettings = Settings,
        };
        JobId? id = null;
        for (var run = 1; run <= 3; run++)
        {
            var jobs = await harness.StartAsync(b => b.Clock(clock));
            var spawner = jobs.AddInitializer(init);
            await jobs.StartPollAsync();
            id ??= (await spawner.SpawnAsync(JobId.New(), new TestConfig())).Id;
            var expected = run;
            await JobsHarness.EventuallyAsync(() => Task.FromResult(init.Runs.Count), n => n == expected);
            if (run < 3)
            {
                // The retry is due 1 s later; nothing runs the job until 10 s later (a stopped cluster,
                // a backlog, a rescue): it starts 9 s late, and fails at once.
                await JobsHarness.WaitScheduledAsync(jobs, id.Value, run + 1);
                await jobs.ShutdownAsync();
                await controller.AdvanceAsync(TimeSpan.FromSeconds(10));
            }
        }

        var found = await JobsHarness.EventuallyAsync(() => harness.FindAsync(id!.Value), j => j.Completed);
        Assert.Equal(JobTerminalState.Errored, found.TerminalState);
        Assert.Equal([1, 2, 3], init.Runs.Select(r => r.Attempt).ToArray());
        Assert.DoesNotContain(found.Events, e => e.Type == JobEventTypes.AttemptCounterReset);
    }

    [Fact]
    public async Task A_run_that_was_healthy_for_long_before_failing_still_resets_the_counter()
    {
        var (clock, controller) = ClockHandle.Artificial(ArtificialClockConfig.Manual());
        await using var harness = new JobsHarness(db.ConnectionString);
        var jobs = await harness.StartAsync(b => b.Clock(clock));
        var running = new TaskCompletionSource();
        var fail = new TaskCompletionSource();
        var init = new TestInitializer($"healthy-{Guid.NewGuid():N}", async (current, _, _) =>
        {
            if (current.Attempt == 2 && !fail.Task.IsCompleted)
            {
                running.TrySetResult();
                await fail.Task; // runs healthy for a while on the application clock, then fails
            }

            throw new InvalidOperationException($"boom {current.Attempt}");
        })
        {
            RetryOnErrorSettings = Settings,
        };
        var spawner = jobs.AddInitializer(init);
        await jobs.StartPollAsync();
        var job = await spawner.SpawnAsync(JobId.New(), new TestConfig());
        await JobsHarness.WaitScheduledAsync(jobs, job.Id, 2);
        await controller.AdvanceAsync(TimeSpan.FromSeconds(1));
        await running.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await controller.AdvanceAsync(TimeSpan.FromSeconds(10)); // ten backoffs of healthy running
        fail.SetResult();

        var found = await JobsHarness.EventuallyAsync(() => jobs.FindAsync(job.Id), j => j.Events.Any(e => e.Type == JobEventTypes.AttemptCounterReset));
        Assert.Null(found.TerminalState);
        Assert.Equal(2, found.Events.Last(e => e.Type == JobEventTypes.ExecutionScheduled).Attempt);
    }
}
