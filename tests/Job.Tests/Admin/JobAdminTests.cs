using Job.Tests.Infrastructure;
using Job.Tests.Runtime;
using Npgsql;

namespace Job.Tests.Admin;

/// <summary>
/// The admin API (issue 12.1) against real silos and PostgreSQL: retry, cancel (a running job too),
/// delete, bulk operations for a filter, pause and resume, each recorded with its actor; lists with
/// filters and keyset paging; counts; the grain for Orleans clients; the wrong state refused by name.
/// </summary>
public sealed class JobAdminTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    private static string NewType(string prefix) => $"admin-{prefix}-{Guid.NewGuid():N}";

    [Fact]
    public async Task Retry_of_an_errored_job_runs_it_again_from_attempt_1_and_is_recorded_with_its_actor()
    {
        await using var harness = new JobsHarness(db.ConnectionString);
        var jobs = await harness.StartAsync();
        var fail = 1;
        var spawner = jobs.AddInitializer(new TestInitializer(NewType("flaky"), (_, _, _) =>
            Interlocked.Exchange(ref fail, 0) == 1 ? throw new InvalidOperationException("boom once") : Task.FromResult(JobCompletion.Complete()))
        {
            RetryOnErrorSettings = new RetrySettings { NAttempts = 1 },
        });
        await jobs.StartPollAsync();
        var job = await spawner.SpawnAsync(JobId.New(), new TestConfig());
        await JobsHarness.EventuallyAsync(() => jobs.FindAsync(job.Id), j => j.TerminalState == JobTerminalState.Errored);

        await jobs.Admin.RetryAsync(job.Id, "alice");

        var done = await JobsHarness.EventuallyAsync(() => jobs.FindAsync(job.Id), j => j.Completed);
        Assert.Equal(JobTerminalState.Completed, done.TerminalState);
        var retried = Assert.Single(done.Events, e => e.Type == JobEventTypes.Retried);
        Assert.Equal("alice", retried.Actor);
        Assert.Equal(1, retried.Attempt);
        Assert.Contains(done.Events.SkipWhile(e => e.Type != JobEventTypes.Retried), e => e.Type == JobEventTypes.ExecutionCompleted && e.Attempt == 1);
        var recorded = await jobs.Admin.RecentActionsAsync(10);
        Assert.Contains(recorded, a => a.Action == "retry" && a.JobId == job.Id && a.Actor == "alice" && a.Changed == 1 && a.JobType == spawner.JobType.Name);

        var conflict = await Assert.ThrowsAsync<JobStateConflictException>(() => jobs.Admin.RetryAsync(job.Id, "alice"));
        Assert.Equal("completed", conflict.State);
        await Assert.ThrowsAsync<JobNotFoundException>(() => jobs.Admin.RetryAsync(JobId.New()));
    }

    [Fact]
    public async Task Cancel_of_a_running_job_fires_its_token_and_it_ends_cancelled_and_a_waiting_one_ends_at_once()
    {
        await using var harness = new JobsHarness(db.ConnectionString);
        var jobs = await harness.StartAsync();
        var started = new TaskCompletionSource();
        var spawner = jobs.AddInitializer(UntilCancelled(NewType("long"), started));
        await jobs.StartPollAsync();
        var running = await spawner.SpawnAsync(JobId.New(), new TestConfig());
        var waiting = await spawner.SpawnAtAsync(JobId.New(), new TestConfig(), jobs.Clock.Now.AddHours(1));
        await started.Task.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(JobCancelOutcome.CancelRequested, await jobs.Admin.CancelAsync(running.Id, "bob"));
        Assert.Equal(JobCancelOutcome.Cancelled, await jobs.Admin.CancelAsync(waiting.Id, "bob"));

        var ended = await JobsHarness.EventuallyAsync(() => jobs.FindAsync(running.Id), j => j.Completed);
        Assert.Equal(JobTerminalState.Cancelled, ended.TerminalState);
        Assert.Equal("bob", Assert.Single(ended.Events, e => e.Type == JobEventTypes.CancelRequested).Actor);
        var cancelled = await jobs.FindAsync(waiting.Id);
        Assert.Equal(JobTerminalState.Cancelled, cancelled.TerminalState);
        Assert.Equal("bob", Assert.Single(cancelled.Events, e => e.Type == JobEventTypes.JobCancelled).Actor);

        var conflict = await Assert.ThrowsAsync<JobStateConflictException>(() => jobs.Admin.CancelAsync(running.Id));
        Assert.Equal("cancelled", conflict.State);
    }

    [Fact]
    public async Task A_cancel_whose_notification_was_lost_reaches_the_run_with_the_claim_heartbeat()
    {
        await using var harness = new JobsHarness(db.ConnectionString);
        // Heartbeats every second (a quarter of the lost interval), to keep the test short.
        var jobs = await harness.StartAsync(b => b.PollerConfig(new JobPollerConfig { JobLostInterval = TimeSpan.FromSeconds(4) }));
        var started = new TaskCompletionSource();
        var spawner = jobs.AddInitializer(UntilCancelled(NewType("deaf"), started));
        await jobs.StartPollAsync();
        var running = await spawner.SpawnAsync(JobId.New(), new TestConfig());
        await started.Task.WaitAsync(TimeSpan.FromSeconds(30));

        // What job_cancel leaves when its notification never reaches the silo (sent before it listened,
        // or while its listener reconnected): the request on the row, and no job_cancel.
        await SqlHelper.ExecuteAsync(db.ConnectionString, "UPDATE job_executions SET cancel_requested_at = now() WHERE id = @id", ("id", running.Id.Value));

        var ended = await JobsHarness.EventuallyAsync(() => jobs.FindAsync(running.Id), j => j.Completed);
        Assert.Equal(JobTerminalState.Cancelled, ended.TerminalState);
    }

    [Fact]
    public async Task Delete_takes_a_finished_job_with_its_history_refuses_a_live_one_and_the_record_keeps_it()
    {
        await using var client = await NewClientAsync();
        var spawner = client.Spawner<TestConfig>(new JobType(NewType("del")));
        var live = await spawner.SpawnAtAsync(JobId.New(), new TestConfig(), client.Clock.Now.AddHours(1));
        var finished = await spawner.SpawnAtAsync(JobId.New(), new TestConfig(), client.Clock.Now.AddHours(1));
        await client.Admin.CancelAsync(finished.Id, "carol");

        var conflict = await Assert.ThrowsAsync<JobStateConflictException>(() => client.Admin.DeleteAsync(live.Id, "carol"));
        Assert.Equal("scheduled", conflict.State);
        await client.Admin.DeleteAsync(finished.Id, "carol");

        await Assert.ThrowsAsync<JobNotFoundException>(() => client.FindAsync(finished.Id));
        Assert.Equal(0L, await ScalarAsync(client, $"SELECT count(*) FROM job.job_events WHERE job_id = '{finished.Id}'"));
        Assert.Contains(await client.Admin.RecentActionsAsync(), a => a.Action == "delete" && a.JobId == finished.Id && a.Actor == "carol");
        Assert.Equal(JobStatus.Scheduled, (await client.GetStatusAsync(live.Id)).Status);
    }

    [Fact]
    public async Task Lists_filter_and_page_by_keyset_counts_add_up_and_bulk_operations_act_on_a_filter()
    {
        await using var client = await NewClientAsync();
        var a = new JobType(NewType("a"));
        var b = new JobType(NewType("b"));
        var now = client.Clock.Now;
        var aJobs = Enumerable.Range(0, 7).Select(i => new JobSpec<TestConfig>(JobId.New(), new TestConfig(i)) { ScheduleAt = now.AddHours(1 + i) }).ToList();
        await client.Spawner<TestConfig>(a).SpawnAllAsync(aJobs);
        var queue = $"q-{Guid.NewGuid():N}";
        var bJobs = Enumerable.Range(0, 3).Select(i => new JobSpec<TestConfig>(JobId.New(), new TestConfig(i)) { ScheduleAt = now.AddHours(1), QueueId = queue }).ToList();
        await client.Spawner<TestConfig>(b).SpawnAllAsync(bJobs);

        // Keyset pages of 3 over type a: every job once, in due order.
        var seen = new List<JobId>();
        string? cursor = null;
        do
        {
            var page = await client.Admin.ListAsync(new JobListQuery
            {
                Filter = new JobFilter { State = JobStatus.Scheduled, JobType = a.Name },
                Descending = false,
                PageSize = 3,
                Cursor = cursor,
            });
            Assert.Equal(JobSort.DueAt, page.Sort);
            Assert.True(page.Jobs.Count <= 3);
            seen.AddRange(page.Jobs.Select(j => j.Id));
            cursor = page.NextCursor;
        }
        while (cursor is not null);
        Assert.Equal(aJobs.Select(j => j.Id), seen);

        var byQueue = await client.Admin.ListAsync(new JobListQuery { Filter = new JobFilter { QueueId = queue } });
        Assert.Equal(bJobs.Select(j => j.Id).Order(), byQueue.Jobs.Select(j => j.Id).Order());
        Assert.Equal(2, byQueue.Jobs.Count(j => j.Parked));
        var target = aJobs[3].Id;
        var byPrefix = await client.Admin.ListAsync(new JobListQuery { Filter = new JobFilter { IdPrefix = target.ToString()[..18] } });
        Assert.Equal(target, Assert.Single(byPrefix.Jobs).Id);
        var byDue = await client.Admin.ListAsync(new JobListQuery
        {
            Filter = new JobFilter { State = JobStatus.Scheduled, JobType = a.Name, From = now.AddHours(2.5), To = now.AddHours(5.5) },
        });
        Assert.Equal([aJobs[4].Id, aJobs[3].Id, aJobs[2].Id], byDue.Jobs.Select(j => j.Id));
        await Assert.ThrowsAsync<ArgumentException>(() => client.Admin.ListAsync(new JobListQuery { Filter = new JobFilter { State = JobStatus.Errored }, Sort = JobSort.DueAt }));
        await Assert.ThrowsAsync<ArgumentException>(() => client.Admin.ListAsync(new JobListQuery { Cursor = "nope" }));

        var counts = await client.Admin.CountAsync();
        Assert.Equal(7, counts.ByTypeAndState.Single(c => c.JobType == a.Name && c.State == JobStatus.Scheduled).Count);
        Assert.Equal(3, counts.ByTypeAndState.Where(c => c.JobType == b.Name).Sum(c => c.Count));

        // What a bulk operation would take, counted up to a limit.
        Assert.Equal(new JobMatchCount { Count = 7 }, await client.Admin.CountMatchingAsync(new JobFilter { JobType = a.Name }));
        Assert.Equal(new JobMatchCount { Count = 5, More = true }, await client.Admin.CountMatchingAsync(new JobFilter { JobType = a.Name }, limit: 5));
        Assert.Equal(new JobMatchCount { Count = 7 }, await client.Admin.CountMatchingAsync(new JobFilter { JobType = a.Name }, limit: 7));
        Assert.Equal(new JobMatchCount { Count = 3 }, await client.Admin.CountMatchingAsync(new JobFilter { State = JobStatus.Scheduled, JobType = a.Name, From = now.AddHours(2.5), To = now.AddHours(5.5) }));
        Assert.Equal(new JobMatchCount { Count = 2 }, await client.Admin.CountMatchingAsync(new JobFilter { State = JobStatus.Pending, QueueId = queue })); // parked behind the queue's head
        Assert.Equal(new JobMatchCount(), await client.Admin.CountMatchingAsync(new JobFilter { JobType = a.Name, State = JobStatus.Completed }));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => client.Admin.CountMatchingAsync(new JobFilter(), limit: 0));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => client.Admin.CountMatchingAsync(new JobFilter(), limit: JobAdmin.MaxBulk + 1));
        await Assert.ThrowsAsync<ArgumentException>(() => client.Admin.CountMatchingAsync(new JobFilter { From = now }));

        var cancelled = await client.Admin.CancelAllAsync(new JobFilter { JobType = a.Name }, "dave", limit: 5);
        Assert.Equal(new JobBulkResult { Matched = 5, Changed = 5, More = true }, cancelled);
        cancelled = await client.Admin.CancelAllAsync(new JobFilter { JobType = a.Name }, "dave");
        Assert.Equal(2, cancelled.Changed);
        Assert.Equal(5, cancelled.Skipped); // already cancelled
        var retried = await client.Admin.RetryAllAsync(new JobFilter { JobType = a.Name, State = JobStatus.Cancelled }, "dave", limit: 2);
        Assert.Equal(2, retried.Changed);
        Assert.Equal(2, (await client.Admin.CountLiveAsync()).ByTypeAndState.Where(c => c.JobType == a.Name).Sum(c => c.Count));
        var deleted = await client.Admin.DeleteAllAsync(new JobFilter { JobType = a.Name, State = JobStatus.Cancelled }, "dave");
        Assert.Equal(5, deleted.Changed);
        Assert.Equal(2, (await client.Admin.CountAsync()).ByTypeAndState.Where(c => c.JobType == a.Name).Sum(c => c.Count));
        var actions = await client.Admin.RecentActionsAsync();
        Assert.Contains(actions, x => x.Action == "cancel-filter" && x.Changed == 5 && x.Actor == "dave" && x.Detail == $"type={a.Name}");
        Assert.Contains(actions, x => x.Action == "delete-filter" && x.Changed == 5);

        // A selection: the running-state rule applies per job (none runs here: the waiting ones are retried due now).
        var selected = await client.Admin.RetryAsync(bJobs.Select(j => j.Id).ToList(), "erin");
        Assert.Equal(3, selected.Changed);
        Assert.Equal(JobStatus.Pending, (await client.GetStatusAsync(bJobs[0].Id)).Status);
    }

    [Fact]
    public async Task Pause_and_resume_through_the_admin_api_and_the_grain_answer_an_orleans_client()
    {
        await using var harness = new JobsHarness(db.ConnectionString);
        var jobs = await harness.StartAsync();
        var paused = jobs.AddInitializer(TestInitializer.Completing(NewType("paused")));
        var control = jobs.AddInitializer(TestInitializer.Completing(NewType("control")));
        await jobs.StartPollAsync();

        var grain = jobs.GrainFactory.GetGrain<IJobAdminGrain>(0);
        await grain.PauseAsync(paused.JobType.Name, "frank");
        var waiting = await paused.SpawnAsync(JobId.New(), new TestConfig());
        var ran = await control.SpawnAsync(JobId.New(), new TestConfig());
        await JobsHarness.EventuallyAsync(() => jobs.FindAsync(ran.Id), j => j.Completed);
        Assert.Equal(JobStatus.Pending, (await grain.GetAsync(waiting.Id)).Snapshot.Status);
        var window = await grain.GetAsync(waiting.Id, new JobHistoryWindow(1));
        Assert.Equal(JobEventTypes.ExecutionScheduled, Assert.Single(window.History).Type); // the newest of its events
        Assert.True(window.EarlierHistory);
        Assert.Equal(new JobMatchCount { Count = 1 }, await grain.CountMatchingAsync(new JobFilter { JobType = paused.JobType.Name, State = JobStatus.Pending }, 100));
        Assert.True((await jobs.FlowControl.GetAsync(paused.JobType))!.Paused);
        Assert.Equal("frank", (await jobs.FlowControl.GetAsync(paused.JobType))!.UpdatedBy);

        await grain.ResumeAsync(paused.JobType.Name, "frank");
        await JobsHarness.EventuallyAsync(() => jobs.FindAsync(waiting.Id), j => j.Completed);
        var page = await grain.ListAsync(new JobListQuery { Filter = new JobFilter { JobType = paused.JobType.Name, State = JobStatus.Completed } });
        Assert.Equal(waiting.Id, Assert.Single(page.Jobs).Id);
        var conflict = await Assert.ThrowsAsync<JobStateConflictException>(() => grain.CancelAsync(waiting.Id, "frank"));
        Assert.Equal("completed", conflict.State);
        var actions = await grain.RecentActionsAsync(10);
        Assert.Contains(actions, a => a.Action == "pause" && a.JobType == paused.JobType.Name && a.Actor == "frank");
        Assert.Contains(actions, a => a.Action == "resume" && a.JobType == paused.JobType.Name);
        Assert.Contains(await grain.SilosAsync(), s => s.Status == "Active");
    }

    private async Task<JobClient> NewClientAsync()
    {
        var client = JobClient.Create(new JobClientOptions { ConnectionString = await db.CreateDatabaseAsync() });
        await client.MigrateAsync();
        return client;
    }

    private static async Task<long> ScalarAsync(JobClient client, string sql)
    {
        await using var cmd = client.Context.DataSource.CreateCommand(sql);
        return Convert.ToInt64(await cmd.ExecuteScalarAsync());
    }

    [Fact]
    public async Task A_history_window_pages_back_through_a_long_history_and_bad_windows_are_refused()
    {
        await using var harness = new JobsHarness(db.ConnectionString);
        var jobs = await harness.StartAsync();
        var runs = 0;
        var spawner = jobs.AddInitializer(new TestInitializer(NewType("again"), (_, _, _) =>
            Task.FromResult(Interlocked.Increment(ref runs) < 25 ? JobCompletion.RescheduleIn(TimeSpan.Zero) : JobCompletion.Complete())));
        await jobs.StartPollAsync();
        var job = await spawner.SpawnAsync(JobId.New(), new TestConfig());
        await JobsHarness.EventuallyAsync(() => jobs.FindAsync(job.Id), j => j.Completed);
        var whole = await jobs.Admin.GetAsync(job.Id);
        Assert.True(whole.History.Count > 50, $"{whole.History.Count} events");
        Assert.Equal(whole.History.Count, whole.HistoryTotal);
        Assert.False(whole.EarlierHistory);

        // Windows of 7, from the newest back, put together are the whole history in its order.
        var pages = new List<JobDetails>();
        long? before = null;
        do
        {
            var page = await jobs.Admin.GetAsync(job.Id, new JobHistoryWindow(7, before));
            pages.Add(page);
            Assert.Equal(whole.History.Count, page.HistoryTotal);
            Assert.Equal(whole.Snapshot, page.Snapshot);
            before = page.History[0].Sequence;
        }
        while (pages[^1].EarlierHistory);

        Assert.All(pages[..^1], p => Assert.Equal(7, p.History.Count));
        Assert.InRange(pages[^1].History.Count, 1, 7);
        Assert.Equal(whole.History.Select(e => e.Sequence), pages.AsEnumerable().Reverse().SelectMany(p => p.History).Select(e => e.Sequence));
        Assert.Equal(whole.History[^1], pages[0].History[^1]);

        var past = await jobs.Admin.GetAsync(job.Id, new JobHistoryWindow(7, whole.History[0].Sequence));
        Assert.Empty(past.History);
        Assert.False(past.EarlierHistory);
        Assert.Equal(whole.History.Count, past.HistoryTotal);

        var tooSmall = await Assert.ThrowsAsync<ArgumentException>(() => jobs.Admin.GetAsync(job.Id, new JobHistoryWindow(0)));
        Assert.Contains("1 to 10000 events (asked for 0)", tooSmall.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<ArgumentException>(() => jobs.Admin.GetAsync(job.Id, new JobHistoryWindow(JobHistoryWindow.MaxLimit + 1)));
        var beforeNothing = await Assert.ThrowsAsync<ArgumentException>(() => jobs.Admin.GetAsync(job.Id, new JobHistoryWindow(7, 0)));
        Assert.Contains("numbered from 1", beforeNothing.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<JobNotFoundException>(() => jobs.Admin.GetAsync(JobId.New(), new JobHistoryWindow(7)));
    }

    // A type whose run says it started, then waits for its token (an operator's cancel, or the stop).
    private static TestInitializer UntilCancelled(string type, TaskCompletionSource started) => new(type, async (_, _, ct) =>
    {
        started.TrySetResult();
        await Task.Delay(Timeout.Infinite, ct);
        return JobCompletion.Complete();
    });
}
