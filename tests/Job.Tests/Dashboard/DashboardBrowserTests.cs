using System.Text.RegularExpressions;
using Job.Maintenance;
using Job.Tests.Infrastructure;
using Job.Tests.Runtime;
using Microsoft.Playwright;
using Npgsql;
using static Microsoft.Playwright.Assertions;

namespace Job.Tests.Dashboard;

/// <summary>
/// The dashboard in a real browser (Debian's Chromium through Playwright) against a real silo and
/// PostgreSQL (issue 12.6). Set JOB_DASHBOARD_SCREENSHOTS to a folder to save a screenshot of every page.
/// </summary>
[Collection(DashboardCollection.Name)]
public sealed partial class DashboardBrowserTests(DashboardFixture ui)
{
    private static readonly string? s_screenshots = Environment.GetEnvironmentVariable("JOB_DASHBOARD_SCREENSHOTS");

    [Fact]
    public async Task The_overview_counts_match_the_database()
    {
        for (var i = 0; i < 4; i++)
        {
            await ui.Ok.SpawnAsync(JobId.New(), new TestConfig(i));
        }

        await ui.Other.SpawnAtAsync(JobId.New(), new TestConfig(), ui.Jobs.Clock.Now.AddHours(2));
        var page = await ui.PageAsync();
        await page.GotoAsync(ui.OpenUrl + "/");
        await JobsHarness.EventuallyAsync(async () =>
        {
            var database = await DatabaseCountsAsync();
            var shown = new Dictionary<string, long>();
            foreach (var state in database.Keys)
            {
                shown[state] = await ShownCountAsync(page, state);
            }

            return (database, shown);
        }, x => x.database.All(kv => x.shown[kv.Key] == kv.Value) && x.database["completed"] >= 4, TimeSpan.FromSeconds(30));
        await Shot(page, "overview");
    }

    [Fact]
    public async Task The_overview_names_a_type_whose_due_jobs_wait_and_a_paused_type_and_links_to_their_jobs()
    {
        // Due five minutes ago, of a type no silo registers; and a type paused with nothing waiting.
        var stuck = await ui.Jobs.Client.Spawner<TestConfig>(new JobType("ui.nobody")).SpawnAtAsync(JobId.New(), new TestConfig(), ui.Jobs.Clock.Now.AddMinutes(-5));
        var quiet = new JobType("ui.paused-quiet");
        await ui.Jobs.FlowControl.PauseAsync(quiet);
        try
        {
            var page = await ui.PageAsync();
            var attention = page.Locator("#attention");
            var text = await JobsHarness.EventuallyAsync(async () =>
            {
                await page.GotoAsync(ui.OpenUrl + "/");
                return await attention.InnerTextAsync();
            }, t => t.Contains("ui.nobody: 1 due job(s), the oldest waiting", StringComparison.Ordinal) && t.Contains("ui.paused-quiet is paused", StringComparison.Ordinal));
            Assert.Contains("ui.nobody: 1 due job(s), the oldest waiting 5", text, StringComparison.Ordinal);
            Assert.Contains("none of them runs", text, StringComparison.Ordinal);
            await Shot(page, "attention");

            await attention.Locator("a", new() { HasText = "ui.nobody" }).ClickAsync();
            await Expect(page).ToHaveURLAsync(new Regex("type=ui.nobody"));
            Assert.Equal([stuck.Id.ToString()], await page.Locator("#jobs tr[data-job]").EvaluateAllAsync<string[]>("rows => rows.map(r => r.getAttribute('data-job'))"));
        }
        finally
        {
            await ui.Jobs.FlowControl.ResumeAsync(quiet);
            await ui.Jobs.Client.CancelAsync(stuck.Id);
        }
    }

    [Fact]
    public async Task A_filter_narrows_the_list()
    {
        var later = ui.Jobs.Clock.Now.AddHours(3);
        var mine = new List<JobId>();
        for (var i = 0; i < 2; i++)
        {
            mine.Add((await ui.Other.SpawnAtAsync(JobId.New(), new TestConfig(i), later.AddMinutes(i))).Id);
        }

        await ui.Ok.SpawnAtAsync(JobId.New(), new TestConfig(), later);
        var page = await ui.PageAsync();
        await page.GotoAsync(ui.OpenUrl + "/jobs");
        var all = await page.Locator("#jobs tr[data-job]").CountAsync();
        await page.SelectOptionAsync("select[name=state]", "scheduled");
        await page.FillAsync("input[name=type]", "ui.other");
        await page.ClickAsync("form.filters button[type=submit]");
        await Expect(page).ToHaveURLAsync(new Regex("state=scheduled"));
        var rows = page.Locator("#jobs tr[data-job]");
        var shown = await rows.EvaluateAllAsync<string[]>("rows => rows.map(r => r.getAttribute('data-job'))");
        Assert.True(shown.Length < all, $"the filter showed {shown.Length} of {all} rows");
        Assert.Subset(shown.ToHashSet(), mine.Select(m => m.ToString()).ToHashSet());
        Assert.All(await rows.Locator("td:nth-child(3)").AllInnerTextsAsync(), type => Assert.Equal("ui.other", type));
        Assert.All(await rows.Locator("[data-state]").AllInnerTextsAsync(), state => Assert.Equal("scheduled", state));

        // The id filter: one job.
        await page.FillAsync("input[name=id]", mine[1].ToString()[..13]);
        await page.ClickAsync("form.filters button[type=submit]");
        Assert.Equal([mine[1].ToString()], await page.Locator("#jobs tr[data-job]").EvaluateAllAsync<string[]>("rows => rows.map(r => r.getAttribute('data-job'))"));
        await page.GotoAsync(ui.OpenUrl + "/jobs");
        await Shot(page, "jobs");
    }

    [Fact]
    public async Task The_actions_for_everything_a_filter_matches_are_those_its_state_allows_say_how_many_and_cancel_all_cancels_them()
    {
        // A job in every state: a long run heads a serial queue (running) with a job parked behind it
        // (pending), one completed, one errored, one cancelled, and three scheduled in a queue of their own.
        ui.FlakyFails = true;
        var serial = $"bulk-serial-{Guid.NewGuid():N}";
        var head = await ui.Long.SpawnAsync(new JobSpec<TestConfig>(JobId.New(), new TestConfig()) { QueueId = serial });
        await JobsHarness.EventuallyAsync(() => ui.Jobs.Client.GetStatusAsync(head.Id), s => s.Status == JobStatus.Running);
        await ui.Other.SpawnAsync(new JobSpec<TestConfig>(JobId.New(), new TestConfig()) { QueueId = serial });
        var completed = await ui.Ok.SpawnAsync(JobId.New(), new TestConfig());
        var errored = await ui.Flaky.SpawnAsync(JobId.New(), new TestConfig());
        var cancelled = await ui.Other.SpawnAsync(new JobSpec<TestConfig>(JobId.New(), new TestConfig()) { ScheduleAt = ui.Jobs.Clock.Now.AddHours(5) });
        await ui.Jobs.Admin.CancelAsync(cancelled.Id);
        await JobsHarness.EventuallyAsync(() => ui.Jobs.Client.GetStatusAsync(completed.Id), s => s.Status == JobStatus.Completed);
        await JobsHarness.EventuallyAsync(() => ui.Jobs.Client.GetStatusAsync(errored.Id), s => s.Status == JobStatus.Errored);
        var queue = $"bulk-{Guid.NewGuid():N}";
        var ids = new List<JobId>();
        for (var i = 0; i < 3; i++)
        {
            ids.Add((await ui.Other.SpawnAsync(new JobSpec<TestConfig>(JobId.New(), new TestConfig(i)) { QueueId = queue, ScheduleAt = ui.Jobs.Clock.Now.AddHours(5) })).Id);
        }

        var page = await ui.PageAsync();
        async Task<string[]> OfferedAsync(string state)
        {
            await page.GotoAsync($"{ui.OpenUrl}/jobs?state={state}");
            Assert.NotEqual("0", await page.Locator("[data-matched]").GetAttributeAsync("data-matched"));
            return await page.Locator("button[data-bulk]").EvaluateAllAsync<string[]>("buttons => buttons.map(b => b.dataset.bulk)");
        }

        Assert.Equal(["retry", "cancel", "delete"], await OfferedAsync(""));
        Assert.Equal(["retry", "cancel"], await OfferedAsync("scheduled"));
        Assert.Equal(["retry", "cancel"], await OfferedAsync("pending"));
        Assert.Equal(["cancel"], await OfferedAsync("running"));
        Assert.Equal(["delete"], await OfferedAsync("completed"));
        Assert.Equal(["retry", "delete"], await OfferedAsync("errored"));
        Assert.Equal(["retry", "delete"], await OfferedAsync("cancelled"));

        // A filter that matches nothing offers nothing.
        await page.GotoAsync($"{ui.OpenUrl}/jobs?queue=none-{Guid.NewGuid():N}");
        await Expect(page.Locator("[data-matched=\"0\"]")).ToContainTextAsync("No job matches this filter.");
        await Expect(page.Locator("button[data-bulk]")).ToHaveCountAsync(0);

        // The count is on the page and in the confirmation.
        var asked = new List<string>();
        page.Dialog += (_, dialog) => asked.Add(dialog.Message);
        await page.GotoAsync($"{ui.OpenUrl}/jobs?queue={queue}");
        await Expect(page.Locator("[data-matched=\"3\"]")).ToContainTextAsync("3 jobs");
        await page.ClickAsync("button[data-bulk=cancel]");
        await Expect(page.Locator(".notice")).ToContainTextAsync("3 of 3 jobs");
        Assert.Equal(["Cancel the 3 jobs this filter matches? Those whose state does not allow it are skipped."], asked);
        foreach (var id in ids)
        {
            Assert.Equal(JobStatus.Cancelled, (await ui.Jobs.Client.GetStatusAsync(id)).Status);
        }

        // Past what the page counts (1,000), it says "more than", and a click still takes them all (up to 10,000).
        var many = $"bulk-many-{Guid.NewGuid():N}";
        await ui.Other.SpawnAllAsync(Enumerable.Range(0, 1_001).Select(i => new JobSpec<TestConfig>(JobId.New(), new TestConfig(i)) { QueueId = many, ScheduleAt = ui.Jobs.Clock.Now.AddHours(5) }).ToList());
        asked.Clear();
        await page.GotoAsync($"{ui.OpenUrl}/jobs?queue={many}");
        await Expect(page.Locator("[data-matched=\"1000+\"]")).ToContainTextAsync("more than 1,000 jobs");
        await page.ClickAsync("button[data-bulk=cancel]");
        await Expect(page.Locator(".notice")).ToContainTextAsync("1,001 of 1,001 jobs cancelled");
        Assert.StartsWith("Cancel the more than 1,000 jobs this filter matches (up to 10,000 per click", Assert.Single(asked), StringComparison.Ordinal);

        await ui.Jobs.Admin.CancelAsync(head.Id); // the long run ends; the parked job runs
    }

    [Fact]
    public async Task A_job_page_shows_its_history_and_retrying_an_errored_job_makes_it_complete()
    {
        ui.FlakyFails = true;
        var job = await ui.Flaky.SpawnAsync(JobId.New(), new TestConfig(7, "retry-me"));
        await JobsHarness.EventuallyAsync(() => ui.Jobs.FindAsync(job.Id), j => j.TerminalState == JobTerminalState.Errored);
        var page = await ui.PageAsync();
        await page.GotoAsync($"{ui.OpenUrl}/jobs/{job.Id}");

        await Expect(page.Locator("h1 [data-state]")).ToHaveTextAsync("errored");
        await Expect(page.Locator("#config")).ToContainTextAsync("\"tag\": \"retry-me\"");
        // Every time with its age: the job was created moments ago.
        await Expect(page.Locator("dl.facts dd:has(time) .ago").First).ToHaveTextAsync(new System.Text.RegularExpressions.Regex(@"^\((now|\d+ s ago|1 min ago)\)$"));
        await Expect(page.Locator("#history li .when time[datetime]").First).ToBeVisibleAsync();
        await Expect(page.Locator("#history li[data-event=initialized]")).ToHaveCountAsync(1);
        var failure = page.Locator("#history li[data-event=execution_errored]");
        await Expect(failure).ToContainTextAsync("System.InvalidOperationException: the ui.flaky job fails on purpose");
        var stack = failure.First.Locator("details.stack");
        await Expect(stack.Locator("pre")).Not.ToBeVisibleAsync(); // folded until asked for
        await stack.Locator("summary").ClickAsync();
        await Expect(stack.Locator("pre")).ToBeVisibleAsync();
        await Expect(stack.Locator("pre")).ToContainTextAsync(new Regex(@"^System\.InvalidOperationException: the ui\.flaky job fails on purpose\s+at ", RegexOptions.Multiline));
        await Expect(page.Locator("#history li[data-event=job_errored]")).ToHaveCountAsync(1);
        var lastAttempt = await page.Locator("#history li[data-event=execution_errored] .when").Last.InnerTextAsync();
        await Expect(page.Locator("dt:text-is('Attempt') + dd")).ToHaveTextAsync(lastAttempt[(lastAttempt.LastIndexOf("attempt ", StringComparison.Ordinal) + 8)..]);
        await Shot(page, "job");

        ui.FlakyFails = false;
        var erroredBefore = (await DatabaseCountsAsync())["errored"];
        var overview = await ui.PageAsync();
        await JobsHarness.EventuallyAsync(async () =>
        {
            await overview.GotoAsync(ui.OpenUrl + "/");
            return await ShownCountAsync(overview, "errored");
        }, shown => shown == erroredBefore);
        await page.ClickAsync("button[data-action=retry]");
        await Expect(page.Locator(".notice")).ToContainTextAsync("retried");

        // The counts are taken again after an action: the overview stops counting the job errored at
        // once, not at the next full count of finished jobs.
        await overview.GotoAsync(ui.OpenUrl + "/");
        Assert.Equal(erroredBefore - 1, await ShownCountAsync(overview, "errored"));
        await JobsHarness.EventuallyAsync(async () =>
        {
            await page.ReloadAsync();
            return await page.Locator("h1 [data-state]").InnerTextAsync();
        }, state => state == "completed");
        await Expect(page.Locator("#history li[data-event=retried]")).ToContainTextAsync("(dashboard)");
        var retried = await page.Locator("#history li[data-event=retried]").InnerTextAsync();
        Assert.Single(Regex.Matches(retried, Regex.Escape("(dashboard)")).Cast<Match>()); // who acted, once
        Assert.Equal(JobTerminalState.Completed, (await ui.Jobs.FindAsync(job.Id)).TerminalState);
    }

    [Fact]
    public async Task A_long_history_shows_its_newest_events_and_pages_back_to_the_first()
    {
        var job = await ui.Ok.SpawnAtAsync(JobId.New(), new TestConfig(), DateTimeOffset.UtcNow.AddDays(1));
        await using (var connection = new NpgsqlConnection(ui.ConnectionString))
        {
            await connection.OpenAsync();
            await using var cmd = new NpgsqlCommand(
                "INSERT INTO job.job_events (job_id, event_type, reason, recorded_at) SELECT @id, 'note', 'note ' || g, now() FROM generate_series(1, 450) g", connection);
            cmd.Parameters.AddWithValue("id", job.Id.Value);
            await cmd.ExecuteNonQueryAsync();
        }

        var total = (await ui.Jobs.Admin.GetAsync(job.Id)).History.Count;
        Assert.True(total > 450);
        var page = await ui.PageAsync();
        await page.GotoAsync($"{ui.OpenUrl}/jobs/{job.Id}");
        var events = page.Locator("#history li");
        await Expect(events).ToHaveCountAsync(200);
        await Expect(events.First).ToContainTextAsync("note 251");
        await Expect(events.Last).ToContainTextAsync("note 450");
        await Expect(page.Locator(".history-nav").First).ToContainTextAsync($"200 newest of {total:N0} events");
        await Expect(page.Locator("[data-history=newest]")).ToHaveCountAsync(0);

        await page.Locator("[data-history=older]").First.ClickAsync();
        await Expect(events.First).ToContainTextAsync("note 51");
        await Expect(events).ToHaveCountAsync(200);
        await Expect(events.Last).ToContainTextAsync("note 250");

        await page.Locator("[data-history=older]").First.ClickAsync();
        await Expect(events).ToHaveCountAsync(total - 400);
        await Expect(events.First).ToHaveAttributeAsync("data-event", "initialized");
        await Expect(events.Last).ToContainTextAsync("note 50");
        await Expect(page.Locator("[data-history=older]")).ToHaveCountAsync(0);
        await Expect(page.Locator("dt:text-is('State') + dd")).ToHaveTextAsync("scheduled");

        await page.Locator("[data-history=newest]").First.ClickAsync();
        await Expect(events.Last).ToContainTextAsync("note 450");

        // An event number that is not one shows the newest events.
        await page.GotoAsync($"{ui.OpenUrl}/jobs/{job.Id}?before=abc");
        await Expect(events.Last).ToContainTextAsync("note 450");
    }

    [Fact]
    public async Task Cancelling_a_running_job_ends_it_cancelled()
    {
        var job = await ui.Long.SpawnAsync(JobId.New(), new TestConfig());
        await JobsHarness.EventuallyAsync(() => ui.Jobs.Client.GetStatusAsync(job.Id), s => s.Status == JobStatus.Running);
        var page = await ui.PageAsync();
        await page.GotoAsync($"{ui.OpenUrl}/jobs/{job.Id}");
        await Expect(page.Locator("h1 [data-state]")).ToHaveTextAsync("running");

        await page.ClickAsync("button[data-action=cancel]");
        await Expect(page.Locator(".notice")).ToContainTextAsync("cancel was requested");
        await JobsHarness.EventuallyAsync(async () =>
        {
            await page.ReloadAsync();
            return await page.Locator("h1 [data-state]").InnerTextAsync();
        }, state => state == "cancelled");
        await Expect(page.Locator("#history li[data-event=cancel_requested]")).ToHaveCountAsync(1);
        Assert.Equal(JobTerminalState.Cancelled, (await ui.Jobs.FindAsync(job.Id)).TerminalState);
    }

    [Fact]
    public async Task A_paused_type_is_not_claimed_until_resumed()
    {
        var first = await ui.Paused.SpawnAsync(JobId.New(), new TestConfig());
        await JobsHarness.EventuallyAsync(() => ui.Jobs.FindAsync(first.Id), j => j.Completed);
        var page = await ui.PageAsync();
        var row = page.Locator("#types tr[data-type='ui.pausable']");
        await JobsHarness.EventuallyAsync(async () =>
        {
            await page.GotoAsync(ui.OpenUrl + "/types");
            return await row.CountAsync();
        }, n => n == 1);

        await row.Locator("button[data-action=pause]").ClickAsync();
        await Expect(page.Locator(".notice")).ToContainTextAsync("paused");
        await Expect(row.Locator("[data-paused]")).ToHaveCountAsync(1);
        var waiting = await ui.Paused.SpawnAsync(JobId.New(), new TestConfig());
        var control = await ui.Ok.SpawnAsync(JobId.New(), new TestConfig());
        await JobsHarness.EventuallyAsync(() => ui.Jobs.FindAsync(control.Id), j => j.Completed);
        await Task.Delay(500);
        Assert.Equal(JobStatus.Pending, (await ui.Jobs.Client.GetStatusAsync(waiting.Id)).Status);
        await Shot(page, "types");

        // Retrying one of its jobs says that it waits for the type, not that it runs now.
        var jobPage = await ui.PageAsync();
        await jobPage.GotoAsync($"{ui.OpenUrl}/jobs/{waiting.Id}");
        await jobPage.ClickAsync("button[data-action=retry]");
        await Expect(jobPage.Locator(".notice")).ToContainTextAsync("but ui.pausable is paused: it runs once the type is resumed");

        await row.Locator("button[data-action=resume]").ClickAsync();
        await Expect(page.Locator(".notice")).ToContainTextAsync("resumed");
        await JobsHarness.EventuallyAsync(() => ui.Jobs.FindAsync(waiting.Id), j => j.Completed);
        Assert.Contains(await ui.Jobs.Admin.RecentActionsAsync(), a => a.Action == "resume" && a.JobType == "ui.pausable" && a.Actor!.EndsWith("(dashboard)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_schedules_page_lists_a_schedule_with_its_ticks_and_pausing_it_there_pauses_it_in_the_database()
    {
        const string name = "ui-every-second";
        await ui.Jobs.Schedules.SetAsync(new JobScheduleSpec<TestConfig>(name, new JobType("ui.ok"), "* * * * * *", new TestConfig(1)) { Overlap = JobOverlapPolicy.Allow }, "test");
        await NightlyReportAsync();
        await ui.Jobs.GrainFactory.GetGrain<IJobLeaderGrain>(0).EnsureAsync();
        await JobsHarness.EventuallyAsync(() => ui.Jobs.Schedules.TicksAsync(name, 10), t => t.Count(x => x.JobId is not null) >= 2);

        var page = await ui.PageAsync();
        await page.GotoAsync(ui.OpenUrl + "/schedules");
        await Expect(page.Locator("header nav a.current")).ToHaveTextAsync("Schedules");
        var row = page.Locator($"#schedules tr[data-schedule='{name}']");
        await Expect(row).ToContainTextAsync("ui.ok");
        await Expect(row).ToContainTextAsync("* * * * * *");
        await Expect(row).ToContainTextAsync("UTC");
        await Expect(row.Locator(".badge.ok")).ToHaveTextAsync("running");
        Assert.True(await row.Locator("[data-tick=spawned] a").CountAsync() >= 2);
        await Expect(page.Locator("#schedules tr[data-schedule='ui-nightly-report'] [data-paused]")).ToHaveCountAsync(1);
        await Shot(page, "schedules");

        // A tick's link opens the job it spawned.
        var link = row.Locator("[data-tick=spawned] a").First;
        var shownId = JobId.Parse(await link.InnerTextAsync());
        Assert.Contains((await ui.Jobs.Schedules.TicksAsync(name, 1000)).Select(t => t.JobId), id => id == shownId);
        await link.ClickAsync();
        await Expect(page.Locator("h1 .mono")).ToHaveTextAsync(shownId.ToString());
        await Expect(page.Locator("#history li[data-event=schedule_tick]")).ToHaveCountAsync(1);

        await page.GotoAsync(ui.OpenUrl + "/schedules");
        await row.Locator("button[data-action=pause]").ClickAsync();
        await Expect(page.Locator(".notice")).ToContainTextAsync($"Schedule {name} paused");
        await Expect(row.Locator("[data-paused]")).ToHaveCountAsync(1);
        await using (var connection = new NpgsqlConnection(ui.ConnectionString))
        {
            await connection.OpenAsync();
            await using var cmd = new NpgsqlCommand("SELECT paused, updated_by FROM job.job_schedules WHERE name = @name", connection);
            cmd.Parameters.AddWithValue("name", name);
            await using var reader = await cmd.ExecuteReaderAsync();
            Assert.True(await reader.ReadAsync());
            Assert.True(reader.GetBoolean(0));
            Assert.EndsWith("(dashboard)", reader.GetString(1), StringComparison.Ordinal);
        }

        await row.Locator("button[data-action=resume]").ClickAsync();
        await Expect(page.Locator(".notice")).ToContainTextAsync($"Schedule {name} resumed");
        Assert.False((await ui.Jobs.Schedules.GetAsync(name))!.Paused);

        await row.Locator("button[data-action=remove]").ClickAsync();
        await Expect(page.Locator(".notice")).ToContainTextAsync($"Schedule {name} removed");
        await Expect(row).ToHaveCountAsync(0);
        Assert.Null(await ui.Jobs.Schedules.GetAsync(name));

        // Each change is in the admin record with who made it, and on the overview.
        var recorded = (await ui.Jobs.Admin.RecentActionsAsync(50)).Where(a => a.Detail == $"schedule={name}").ToList();
        Assert.Equal(["schedule-remove", "schedule-resume", "schedule-pause"], recorded.Take(3).Select(a => a.Action));
        Assert.All(recorded.Take(3), a => Assert.EndsWith("(dashboard)", a.Actor, StringComparison.Ordinal));
        await page.GotoAsync(ui.OpenUrl + "/");
        await Expect(page.Locator("table tr", new() { HasText = "schedule-remove" }).First).ToContainTextAsync($"schedule={name}");
    }

    [Fact]
    public async Task Without_actions_the_schedules_page_renders_no_form()
    {
        await NightlyReportAsync();
        var reader = await ui.PageAsync();
        await reader.GotoAsync(ui.ReadOnlyUrl + "/schedules");
        var row = reader.Locator("#schedules tr[data-schedule='ui-nightly-report']");
        await Expect(row).ToContainTextAsync("Europe/Zurich");
        await Expect(reader.Locator("#schedules form")).ToHaveCountAsync(0);
        await Expect(reader.Locator("button[data-action]")).ToHaveCountAsync(0);
        var post = await reader.APIRequest.PostAsync($"{ui.ReadOnlyUrl}/schedules/pause", new APIRequestContextOptions { Form = reader.APIRequest.CreateFormData().Set("name", "ui-nightly-report") });
        Assert.True(post.Status is 404 or 405, $"status {post.Status}");

        // A viewer of the guarded dashboard sees the schedules but may not act on them.
        var viewer = await ui.PageAsync(new() { ["X-User"] = "vera" });
        await viewer.GotoAsync(ui.GuardedUrl + "/schedules");
        await Expect(viewer.Locator("#schedules tr[data-schedule='ui-nightly-report']")).ToHaveCountAsync(1);
        await Expect(viewer.Locator("#schedules form")).ToHaveCountAsync(0);

        // The open dashboard refuses a post without its antiforgery token.
        var open = await ui.PageAsync();
        var noToken = await open.APIRequest.PostAsync($"{ui.OpenUrl}/schedules/remove", new APIRequestContextOptions { Form = open.APIRequest.CreateFormData().Set("name", "ui-nightly-report") });
        Assert.Equal(400, noToken.Status);
        Assert.NotNull(await ui.Jobs.Schedules.GetAsync("ui-nightly-report"));
    }

    /// <summary>A paused nightly schedule that never ticks during a test (both schedules tests want one).</summary>
    private async Task NightlyReportAsync()
    {
        await ui.Jobs.Schedules.SetAsync(new JobScheduleSpec<TestConfig>("ui-nightly-report", new JobType("ui.other"), "0 2 * * *", new TestConfig(2, "report"))
        {
            TimeZone = "Europe/Zurich",
            Overlap = JobOverlapPolicy.Queue,
        }, "test");
        await ui.Jobs.Schedules.PauseAsync("ui-nightly-report", "test");
    }

    [Fact]
    public async Task Without_the_policy_no_action_is_possible()
    {
        ui.FlakyFails = true;
        var job = await ui.Flaky.SpawnAsync(JobId.New(), new TestConfig());
        await JobsHarness.EventuallyAsync(() => ui.Jobs.FindAsync(job.Id), j => j.TerminalState == JobTerminalState.Errored);

        // Nobody signed in: the viewer policy refuses every page.
        var anonymous = await ui.PageAsync();
        var refused = await anonymous.APIRequest.GetAsync($"{ui.GuardedUrl}/jobs/{job.Id}");
        Assert.Equal(401, refused.Status);

        // A viewer sees the job but no action, and a forged post is refused before it acts.
        var viewer = await ui.PageAsync(new() { ["X-User"] = "vera" });
        var seen = await viewer.GotoAsync($"{ui.GuardedUrl}/jobs/{job.Id}");
        Assert.Equal(200, seen!.Status);
        await Expect(viewer.Locator("h1 [data-state]")).ToHaveTextAsync("errored");
        await Expect(viewer.Locator("button[data-action]")).ToHaveCountAsync(0);
        var forged = await viewer.APIRequest.PostAsync($"{ui.GuardedUrl}/jobs/{job.Id}/retry", new APIRequestContextOptions { Form = viewer.APIRequest.CreateFormData().Set("return", "/") });
        Assert.Equal(403, forged.Status);

        // A read-only dashboard has no actions at all.
        var reader = await ui.PageAsync();
        await reader.GotoAsync($"{ui.ReadOnlyUrl}/jobs/{job.Id}");
        await Expect(reader.Locator("button[data-action]")).ToHaveCountAsync(0);
        var readOnlyPost = await reader.APIRequest.PostAsync($"{ui.ReadOnlyUrl}/jobs/{job.Id}/retry");
        Assert.True(readOnlyPost.Status is 404 or 405, $"status {readOnlyPost.Status}");

        // The open dashboard refuses a post without its antiforgery token.
        var open = await ui.PageAsync();
        var noToken = await open.APIRequest.PostAsync($"{ui.OpenUrl}/jobs/{job.Id}/retry", new APIRequestContextOptions { Form = open.APIRequest.CreateFormData().Set("return", "/") });
        Assert.Equal(400, noToken.Status);

        Assert.Equal(JobTerminalState.Errored, (await ui.Jobs.FindAsync(job.Id)).TerminalState);
        Assert.DoesNotContain((await ui.Jobs.FindAsync(job.Id)).Events, e => e.Type == JobEventTypes.Retried);

        // An operator may act.
        var operatorPage = await ui.PageAsync(new() { ["X-User"] = "otto", ["X-Role"] = "operator" });
        ui.FlakyFails = false;
        await operatorPage.GotoAsync($"{ui.GuardedUrl}/jobs/{job.Id}");
        await operatorPage.ClickAsync("button[data-action=retry]");
        await JobsHarness.EventuallyAsync(() => ui.Jobs.FindAsync(job.Id), j => j.TerminalState == JobTerminalState.Completed);
        Assert.Equal("otto (dashboard)", (await ui.Jobs.FindAsync(job.Id)).Events.Single(e => e.Type == JobEventTypes.Retried).Actor);
    }

    [Fact]
    public async Task The_silos_page_lists_the_silo_with_its_running_jobs_and_pages_carry_a_content_security_policy()
    {
        var page = await ui.PageAsync();
        var response = await page.GotoAsync(ui.OpenUrl + "/silos");
        Assert.Contains("default-src 'none'", (await response!.AllHeadersAsync())["content-security-policy"], StringComparison.Ordinal);
        await Expect(page.Locator("#silos td .badge.ok")).ToHaveCountAsync(1);
        await Shot(page, "silos");
        var html = await page.ContentAsync();
        Assert.DoesNotContain("Password", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(PostgresServer.AppPassword, html, StringComparison.Ordinal);

        // An uptime probe may ask with HEAD.
        Assert.Equal(200, (await page.APIRequest.HeadAsync(ui.OpenUrl + "/")).Status);
    }

    private static async Task<long> ShownCountAsync(IPage page, string state) =>
        long.Parse((await page.Locator($"[data-count={state}]").InnerTextAsync()).Replace(",", "", StringComparison.Ordinal), System.Globalization.CultureInfo.InvariantCulture);

    private async Task<Dictionary<string, long>> DatabaseCountsAsync()
    {
        await using var connection = new NpgsqlConnection(ui.ConnectionString);
        await connection.OpenAsync();
        await using var cmd = new NpgsqlCommand("""
            SELECT s, count(*) FROM (
              SELECT coalesce(j.terminal_state, CASE je.state WHEN 'parked' THEN 'pending' ELSE je.state END) AS s
              FROM job.jobs j LEFT JOIN job.job_executions je ON je.id = j.id) x
            GROUP BY s
            """, connection);
        var counts = new Dictionary<string, long> { ["pending"] = 0, ["scheduled"] = 0, ["running"] = 0, ["completed"] = 0, ["errored"] = 0, ["cancelled"] = 0 };
        await using var reader = await cmd.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            counts[reader.GetString(0)] = reader.GetInt64(1);
        }

        return counts;
    }

    private static async Task Shot(IPage page, string name)
    {
        if (s_screenshots is { Length: > 0 } folder)
        {
            Directory.CreateDirectory(folder);
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(folder, name + ".png"), FullPage = true });
        }
    }
}
