using Job.Tests.Infrastructure;

namespace Job.Tests.Runtime;

/// <summary>Service lifecycle: registration rules, shutdown hand-off, liveness on real time.</summary>
public sealed class LifecycleTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    private static string NewType(string prefix) => $"{prefix}-{Guid.NewGuid():N}";

    [Fact]
    public async Task Registration_rules_and_idempotent_shutdown()
    {
        await using var harness = new JobsHarness(db.ConnectionString);
        var jobs = await harness.StartAsync();
        var type = NewType("rules");
        jobs.AddInitializer(TestInitializer.Completing(type));
        Assert.Throws<InvalidOperationException>(() => jobs.AddInitializer(TestInitializer.Completing(type)));

        await jobs.StartPollAsync();
        await Assert.ThrowsAsync<InvalidOperationException>(() => jobs.StartPollAsync());
        Assert.Throws<InvalidOperationException>(() => jobs.AddInitializer(TestInitializer.Completing(NewType("late"))));

        await jobs.ShutdownAsync();
        await jobs.ShutdownAsync(); // idempotent
    }

    [Fact]
    public async Task Shutdown_is_safe_when_polling_never_started()
    {
        await using var harness = new JobsHarness(db.ConnectionString);
        var jobs = await harness.StartAsync();
        jobs.AddInitializer(TestInitializer.Completing(NewType("never-polled")));
        await jobs.ShutdownAsync();
        await jobs.ShutdownAsync();
        await Assert.ThrowsAsync<InvalidOperationException>(() => jobs.StartPollAsync());
    }

    [Fact]
    public async Task Gap_shutdown_signals_waits_then_hands_back_to_another_silo()
    {
        await using var harness = new JobsHarness(db.ConnectionString);
        var type = NewType("handoff");
        var release = new TaskCompletionSource();
        var tokenSeen = new TaskCompletionSource();
        var first = await harness.StartAsync(b => b.PollerConfig(new JobPollerConfig { ShutdownTimeout = TimeSpan.FromMilliseconds(500) }));
        var stubborn = new TestInitializer(type, async (_, _, ct) =>
        {
            ct.Register(() => tokenSeen.TrySetResult());
            await release.Task; // ignores the shutdown signal
            return JobCompletion.Complete();
        });
        var spawner = first.AddInitializer(stubborn);
        await first.StartPollAsync();
        var job = await spawner.SpawnAsync(JobId.New(), new TestConfig());
        await JobsHarness.EventuallyAsync(() => Task.FromResult(stubborn.Runs.Count), n => n == 1);

        var second = await harness.StartAsync();
        var finisher = TestInitializer.Completing(type);
        second.AddInitializer(finisher);
        await second.StartPollAsync();

        var shutdown = first.ShutdownAsync();
        await tokenSeen.Task.WaitAsync(TimeSpan.FromSeconds(30)); // runners are told first
        var found = await JobsHarness.EventuallyAsync(() => second.FindAsync(job.Id), j => j.Completed);
        Assert.Equal(JobTerminalState.Completed, found.TerminalState);
        Assert.Single(finisher.Runs);
        var aborted = Assert.Single(found.Events, e => e.Type == JobEventTypes.ExecutionAborted);
        Assert.Equal("shutdown timeout", aborted.Reason);
        Assert.Equal(1, finisher.Runs.Single().Attempt); // a hand-back does not count an attempt

        release.SetResult(); // the stale run finishes late: its write is fenced out
        await shutdown.WaitAsync(TimeSpan.FromSeconds(30));
        var after = await second.FindAsync(job.Id);
        Assert.Single(after.Events, e => e.Type == JobEventTypes.JobCompleted);
    }

    [Fact]
    public async Task Later_lost_job_is_rescued_on_real_time_under_a_frozen_manual_clock()
    {
        var (clock, controller) = ClockHandle.Artificial(ArtificialClockConfig.Manual());
        var frozenAt = clock.Now;
        await using var harness = new JobsHarness(db.ConnectionString);
        var jobs = await harness.StartAsync(b => b.Clock(clock).PollerConfig(new JobPollerConfig { JobLostInterval = TimeSpan.FromSeconds(2) }));
        var init = TestInitializer.Completing(NewType("orphan"));
        var spawner = jobs.AddInitializer(init);
        var job = await spawner.SpawnAsync(JobId.New(), new TestConfig());

        // Stage a crashed runner elsewhere: running, claimed by a ghost, heartbeat long gone.
        await SqlHelper.ExecuteAsync(db.ConnectionString,
            "UPDATE job_executions SET state = 'running', claim_token = -1, claimed_by = 'ghost', alive_at = now() - interval '1 hour' WHERE id = @id",
            ("id", job.Id.Value));
        await jobs.StartPollAsync();

        var found = await JobsHarness.EventuallyAsync(() => jobs.FindAsync(job.Id), j => j.Completed);
        Assert.Equal(JobTerminalState.Completed, found.TerminalState);
        Assert.Contains(found.Events, e => e.Type == JobEventTypes.JobLost);
        Assert.Equal(2, init.Runs.Single().Attempt); // the lost run counts
        Assert.Equal(frozenAt, controller.Now);      // nothing moved the application clock
    }

    [Fact]
    public async Task Advancing_the_test_clock_never_makes_a_live_job_look_lost()
    {
        var (clock, controller) = ClockHandle.Artificial(ArtificialClockConfig.Manual());
        await using var harness = new JobsHarness(db.ConnectionString);
        // 3 s, not 1 s: a starved process must not miss a real heartbeat deadline (a spurious job_lost).
        var jobs = await harness.StartAsync(b => b.Clock(clock).PollerConfig(new JobPollerConfig { JobLostInterval = TimeSpan.FromSeconds(3) }));
        var release = new TaskCompletionSource();
        var init = new TestInitializer(NewType("live"), async (_, _, _) =>
        {
            await release.Task;
            return JobCompletion.Complete();
        });
        var spawner = jobs.AddInitializer(init);
        await jobs.StartPollAsync();
        var job = await spawner.SpawnAsync(JobId.New(), new TestConfig());
        await JobsHarness.EventuallyAsync(() => Task.FromResult(init.Runs.Count), n => n == 1);

        await controller.AdvanceAsync(TimeSpan.FromHours(2));
        await Task.Delay(7000); // more than two real lost intervals; heartbeats keep it alive
        release.SetResult();

        var found = await JobsHarness.EventuallyAsync(() => jobs.FindAsync(job.Id), j => j.Completed);
        Assert.Equal(JobTerminalState.Completed, found.TerminalState);
        Assert.Single(init.Runs);
        Assert.DoesNotContain(found.Events, e => e.Type == JobEventTypes.JobLost);
    }
}
