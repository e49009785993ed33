using System.Collections.Concurrent;
using Cronos;
using Job.Maintenance;
using Job.Tests.Infrastructure;

namespace Job.Tests.Runtime;

/// <summary>
/// Recurring schedules against real silos on the artificial clock: every tick of a week fires once,
/// daylight-saving days tick as Cronos defines, the misfire policies apply to ticks missed while no
/// silo ran, the overlap policies to ticks due while the previous tick's job runs, and declarations in
/// code and run-time changes follow "the latest change wins". Each test has a database of its own, so
/// no schedule of another test ticks into it.
/// </summary>
public sealed class ScheduleTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    private static string NewType(string prefix) => $"sched-{prefix}-{Guid.NewGuid():N}";

    // A Monday, 00:10 UTC: the week's ticks are easy to list.
    private static readonly DateTimeOffset s_monday = new(2026, 5, 4, 0, 10, 0, TimeSpan.Zero);

    [Fact]
    public async Task A_week_on_the_artificial_clock_fires_every_tick_once_with_five_and_six_field_expressions()
    {
        var fires = new ConcurrentDictionary<string, string>(); // trace id → schedule, of each job.schedule.fire span
        using var listener = new System.Diagnostics.ActivityListener
        {
            ShouldListenTo = s => s.Name == global::Job.Telemetry.JobTelemetry.SourceName,
            Sample = (ref System.Diagnostics.ActivityCreationOptions<System.Diagnostics.ActivityContext> _) => System.Diagnostics.ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = a =>
            {
                if (a.OperationName == "job.schedule.fire" && a.GetTagItem("job.schedule") is string schedule)
                {
                    fires[a.TraceId.ToString()] = schedule;
                }
            },
        };
        System.Diagnostics.ActivitySource.AddActivityListener(listener);
        var (clock, controller) = ClockHandle.Artificial(ArtificialClockConfig.ManualAt(s_monday));
        await using var harness = new JobsHarness(await db.CreateDatabaseAsync());
        var jobs = await harness.StartAsync(b => b.Clock(clock));
        var type = NewType("week");
        var init = TestInitializer.Completing(type);
        jobs.AddInitializer(init);
        jobs.AddRecurring(new JobScheduleSpec<TestConfig>("hourly", new JobType(type), "0 * * * *", new TestConfig(1)) { Overlap = JobOverlapPolicy.Allow });
        await jobs.StartPollAsync();
        await jobs.Schedules.SetAsync(new JobScheduleSpec<TestConfig>("six-hourly", new JobType(type), "0 0 */6 * * *", new TestConfig(6))
        {
            Overlap = JobOverlapPolicy.Queue,
            Priority = 3,
        }, "test");
        await EnsureLeaderAsync(jobs);

        var end = s_monday.AddDays(7);
        var hourly = Expected("0 * * * *", s_monday, end);
        var sixHourly = Expected("0 0 */6 * * *", s_monday, end);
        await AdvanceTickByTickAsync(controller, jobs, end, ("hourly", hourly), ("six-hourly", sixHourly));
        Assert.Equal(168, hourly.Count);
        Assert.Equal(28, sixHourly.Count);
        await AssertTicksAsync(jobs, "hourly", hourly);
        await AssertTicksAsync(jobs, "six-hourly", sixHourly);
        await JobsHarness.EventuallyAsync(() => Task.FromResult(init.Runs.Count), n => n >= 196);

        // One job per tick, each with its tick in its history and the usual events around it.
        foreach (var (name, ticks) in new[] { ("hourly", hourly), ("six-hourly", sixHourly) })
        {
            var recorded = await jobs.Schedules.TicksAsync(name, 1000);
            foreach (var tick in recorded)
            {
                var job = await JobsHarness.EventuallyAsync(() => jobs.FindAsync(tick.JobId!.Value), j => j.Completed);
                var marker = Assert.Single(job.Events, e => e.Type == JobEventTypes.ScheduleTick);
                Assert.Equal(name, marker.Reason);
                Assert.Equal(tick.Tick, marker.ScheduledAt);
                Assert.Equal(JobTerminalState.Completed, job.TerminalState);
                Assert.Equal(name == "hourly" ? 1 : 6, job.Config<TestConfig>().Value);

                // Traced: the job's runs join the trace of the fire that spawned it.
                var traceParent = await ScalarAsync<string>(harness, $"SELECT trace_parent FROM jobs WHERE id = '{tick.JobId}'");
                Assert.Equal(name, fires[traceParent.Split('-')[1]]);
            }
        }

        Assert.Equal(196, init.Runs.Count);
        Assert.Equal(196, init.Runs.Select(r => r.Id).Distinct().Count());
        Assert.Equal(196L, await ScalarAsync<long>(harness, "SELECT count(*) FROM jobs"));
        Assert.Equal(3, await ScalarAsync<short>(harness, "SELECT priority FROM job_schedules WHERE name = 'six-hourly'"));
        var schedule = (await jobs.Schedules.GetAsync("hourly"))!;
        Assert.Equal(end.AddMinutes(50), schedule.NextTick);
        Assert.Equal(hourly[^1], schedule.LastTick);
    }

    [Fact]
    public async Task Daylight_saving_days_tick_as_cronos_defines_in_spring_and_autumn()
    {
        // Europe/Zurich: 2026-03-29 02:00 local does not exist (clocks go 02:00 → 03:00);
        // 2026-10-25 02:00-03:00 local happens twice (03:00 → 02:00).
        foreach (var start in new[] { new DateTimeOffset(2026, 3, 27, 12, 0, 0, TimeSpan.Zero), new DateTimeOffset(2026, 10, 23, 12, 0, 0, TimeSpan.Zero) })
        {
            var (clock, controller) = ClockHandle.Artificial(ArtificialClockConfig.ManualAt(start));
            await using var harness = new JobsHarness(await db.CreateDatabaseAsync());
            var jobs = await harness.StartAsync(b => b.Clock(clock));
            var type = new JobType(NewType("dst"));
            jobs.AddInitializer(TestInitializer.Completing(type.Name));
            jobs.AddRecurring(new JobScheduleSpec<TestConfig>("fixed", type, "30 2 * * *", new TestConfig()) { TimeZone = "Europe/Zurich", Overlap = JobOverlapPolicy.Allow });
            jobs.AddRecurring(new JobScheduleSpec<TestConfig>("interval", type, "*/30 2 * * *", new TestConfig()) { TimeZone = "Europe/Zurich", Overlap = JobOverlapPolicy.Allow });
            await jobs.StartPollAsync();
            await EnsureLeaderAsync(jobs);

            var zone = TimeZoneInfo.FindSystemTimeZoneById("Europe/Zurich");
            var fixedTicks = Expected("30 2 * * *", start, start.AddDays(4), zone);
            var intervalTicks = Expected("*/30 2 * * *", start, start.AddDays(4), zone);
            await AdvanceTickByTickAsync(controller, jobs, start.AddDays(4), ("fixed", fixedTicks), ("interval", intervalTicks));
            await AssertTicksAsync(jobs, "fixed", fixedTicks);
            await AssertTicksAsync(jobs, "interval", intervalTicks);
            if (start.Month == 3)
            {
                // The skipped hour: no tick is lost, it runs at the end of the gap (03:00 CEST = 01:00 UTC).
                Assert.Contains(new DateTimeOffset(2026, 3, 29, 1, 0, 0, TimeSpan.Zero), fixedTicks);
                Assert.Contains(new DateTimeOffset(2026, 3, 29, 1, 0, 0, TimeSpan.Zero), intervalTicks);
            }
            else
            {
                // The repeated hour: the fixed time once (the first 02:30, CEST = 00:30 UTC), the interval in both.
                Assert.Single(fixedTicks, t => t.UtcDateTime.Date == new DateTime(2026, 10, 25));
                Assert.Contains(new DateTimeOffset(2026, 10, 25, 0, 30, 0, TimeSpan.Zero), fixedTicks);
                Assert.Equal(4, intervalTicks.Count(t => t.UtcDateTime.Date == new DateTime(2026, 10, 25)));
            }
        }
    }

    [Fact]
    public async Task Ticks_missed_while_no_silo_ran_follow_each_misfire_policy()
    {
        var (clock, controller) = ClockHandle.Artificial(ArtificialClockConfig.ManualAt(s_monday.AddMinutes(20))); // 00:30
        await using var harness = new JobsHarness(await db.CreateDatabaseAsync());
        var type = new JobType(NewType("misfire"));
        var specs = new[]
        {
            new JobScheduleSpec<TestConfig>("skip", type, "0 * * * *", new TestConfig()) { Misfire = JobMisfirePolicy.Skip, Overlap = JobOverlapPolicy.Allow },
            new JobScheduleSpec<TestConfig>("run-once", type, "0 * * * *", new TestConfig()) { Overlap = JobOverlapPolicy.Allow },
            new JobScheduleSpec<TestConfig>("catch-up", type, "0 * * * *", new TestConfig()) { Misfire = JobMisfirePolicy.CatchUp(3), Overlap = JobOverlapPolicy.Allow },
        };
        Assert.Equal(JobMisfirePolicy.RunOnce, specs[1].Misfire); // the documented default

        Task<Jobs> StartAsync() => StartDeclaringAsync(harness, clock, type, specs);

        var first = await StartAsync();
        await controller.AdvanceAsync(TimeSpan.FromHours(1)); // 01:30: the 01:00 tick fires everywhere
        foreach (var spec in specs)
        {
            await WaitTicksAsync(first, spec.Name, 1);
        }

        await first.ShutdownAsync();
        await controller.AdvanceAsync(TimeSpan.FromHours(10)); // 11:30, no silo: 02:00 to 11:00 are missed

        var second = await StartAsync();
        var hour = (int h) => new DateTimeOffset(2026, 5, 4, h, 0, 0, TimeSpan.Zero);
        await WaitTicksAsync(second, "run-once", 2);
        await WaitTicksAsync(second, "catch-up", 4);
        await controller.AdvanceAsync(TimeSpan.FromHours(1)); // 12:30: the 12:00 tick fires everywhere, on time
        await AssertTicksAsync(second, "skip", [hour(1), hour(12)]);
        await AssertTicksAsync(second, "run-once", [hour(1), hour(11), hour(12)]);
        await AssertTicksAsync(second, "catch-up", [hour(1), hour(9), hour(10), hour(11), hour(12)]);
    }

    [Fact]
    public async Task An_outage_longer_than_the_threshold_is_one_misfire_and_the_policy_decides_its_last_minute_too()
    {
        var (clock, controller) = ClockHandle.Artificial(ArtificialClockConfig.ManualAt(s_monday.AddMinutes(20).AddSeconds(5))); // 00:30:05
        await using var harness = new JobsHarness(await db.CreateDatabaseAsync());
        var type = new JobType(NewType("outage"));
        const string everyTen = "*/10 * * * * *";
        var specs = new[]
        {
            new JobScheduleSpec<TestConfig>("skip", type, everyTen, new TestConfig()) { Misfire = JobMisfirePolicy.Skip, Overlap = JobOverlapPolicy.Allow },
            new JobScheduleSpec<TestConfig>("run-once", type, everyTen, new TestConfig()) { Overlap = JobOverlapPolicy.Allow },
            new JobScheduleSpec<TestConfig>("catch-up", type, everyTen, new TestConfig()) { Misfire = JobMisfirePolicy.CatchUp(3), Overlap = JobOverlapPolicy.Allow },
        };

        Task<Jobs> StartAsync() => StartDeclaringAsync(harness, clock, type, specs);

        var at = (int m, int sec) => new DateTimeOffset(2026, 5, 4, 0, m, sec, TimeSpan.Zero);
        var first = await StartAsync();
        await controller.AdvanceAsync(TimeSpan.FromSeconds(10)); // 00:30:15: the 00:30:10 tick fires
        foreach (var spec in specs)
        {
            await WaitTicksAsync(first, spec.Name, 1);
        }

        // Three minutes without a silo: 18 ticks missed, six of them in the minute before the restart.
        await first.ShutdownAsync();
        await controller.AdvanceAsync(TimeSpan.FromMinutes(3)); // 00:33:15
        var second = await StartAsync();
        await WaitTicksAsync(second, "run-once", 2);
        await WaitTicksAsync(second, "catch-up", 4);
        await controller.AdvanceAsync(TimeSpan.FromSeconds(10)); // 00:33:25: the next tick, on time
        await AssertTicksAsync(second, "skip", [at(30, 10), at(33, 20)]);
        await AssertTicksAsync(second, "run-once", [at(30, 10), at(33, 10), at(33, 20)]);
        await AssertTicksAsync(second, "catch-up", [at(30, 10), at(32, 50), at(33, 0), at(33, 10), at(33, 20)]);

        // Half a minute without a silo (a leader moving after a crash takes seconds): late, not missed; all run.
        await second.ShutdownAsync();
        await controller.AdvanceAsync(TimeSpan.FromSeconds(30)); // 00:33:55
        var third = await StartAsync();
        var late = new[] { at(33, 30), at(33, 40), at(33, 50) };
        await AssertTicksAsync(third, "skip", [at(30, 10), at(33, 20), .. late]);
        await AssertTicksAsync(third, "run-once", [at(30, 10), at(33, 10), at(33, 20), .. late]);
    }

    [Fact]
    public async Task A_tick_due_while_the_previous_job_runs_is_skipped_or_queued_by_its_overlap_policy()
    {
        var (clock, controller) = ClockHandle.Artificial(ArtificialClockConfig.ManualAt(s_monday));
        await using var harness = new JobsHarness(await db.CreateDatabaseAsync());
        var jobs = await harness.StartAsync(b => b.Clock(clock));
        var release = new TaskCompletionSource();
        var running = new int[3];
        var maxRunning = new ConcurrentDictionary<int, int>();
        var init = new TestInitializer(NewType("overlap"), async (_, config, _) =>
        {
            var now = Interlocked.Increment(ref running[config.Value]);
            maxRunning.AddOrUpdate(config.Value, now, (_, seen) => Math.Max(seen, now));
            await release.Task;
            Interlocked.Decrement(ref running[config.Value]);
            return JobCompletion.Complete();
        });
        jobs.AddInitializer(init);
        jobs.AddRecurring(new JobScheduleSpec<TestConfig>("skips", init.JobType, "0 * * * *", new TestConfig(1)));
        jobs.AddRecurring(new JobScheduleSpec<TestConfig>("queues", init.JobType, "0 * * * *", new TestConfig(2)) { Overlap = JobOverlapPolicy.Queue });
        await jobs.StartPollAsync();
        await EnsureLeaderAsync(jobs);
        Assert.Equal(JobOverlapPolicy.Skip, (await jobs.Schedules.GetAsync("skips"))!.Overlap); // the documented default

        await controller.AdvanceAsync(TimeSpan.FromHours(1)); // 01:00: both spawn, both run and block
        await JobsHarness.EventuallyAsync(() => Task.FromResult(init.Runs.Count), n => n == 2);
        await controller.AdvanceAsync(TimeSpan.FromHours(1)); // 02:00: skipped, and queued behind the running one
        var skipped = await WaitTicksAsync(jobs, "skips", 2);
        var queued = await WaitTicksAsync(jobs, "queues", 2);
        Assert.Equal([JobScheduleTickOutcome.Skipped, JobScheduleTickOutcome.Spawned], skipped.Select(t => t.Outcome));
        Assert.Null(skipped[0].JobId);
        Assert.All(queued, t => Assert.Equal(JobScheduleTickOutcome.Spawned, t.Outcome));
        Assert.Equal(JobStatus.Pending, (await jobs.Client.GetStatusAsync(queued[0].JobId!.Value)).Status); // parked behind 01:00's
        Assert.Equal(2, init.Runs.Count);

        release.SetResult();
        await JobsHarness.EventuallyAsync(() => jobs.FindAsync(queued[0].JobId!.Value), j => j.Completed);
        Assert.Equal(3, init.Runs.Count);
        Assert.Equal(1, maxRunning[2]); // the queued ticks never ran at once

        await controller.AdvanceAsync(TimeSpan.FromHours(1)); // 03:00: the previous job ended, so it runs
        var later = await WaitTicksAsync(jobs, "skips", 3);
        Assert.Equal(JobScheduleTickOutcome.Spawned, later[0].Outcome);
    }

    [Fact]
    public async Task Code_declarations_and_run_time_changes_follow_the_latest_change()
    {
        var (clock, controller) = ClockHandle.Artificial(ArtificialClockConfig.ManualAt(s_monday)); // 00:10
        await using var harness = new JobsHarness(await db.CreateDatabaseAsync());
        var type = new JobType(NewType("precedence"));
        var init = TestInitializer.Completing(type.Name);
        async Task<Jobs> DeployAsync(JobScheduleSpec<TestConfig>? spec, bool retire = false)
        {
            var jobs = await harness.StartAsync(b => b.Clock(clock));
            jobs.AddInitializer(init);
            if (spec is not null)
            {
                jobs.AddRecurring(spec);
            }

            if (retire)
            {
                jobs.RetireRecurring("report");
            }

            await jobs.StartPollAsync();
            return jobs;
        }

        var v1 = new JobScheduleSpec<TestConfig>("report", type, "0 * * * *", new TestConfig(1)) { Overlap = JobOverlapPolicy.Allow };
        var silo = await DeployAsync(v1);
        var created = (await silo.Schedules.GetAsync("report"))!;
        Assert.Equal((JobScheduleSource.Code, true, "code"), (created.Source, created.DeclaredInCode, created.UpdatedBy));
        Assert.Equal(s_monday.AddMinutes(50), created.NextTick);
        await EnsureLeaderAsync(silo);
        await controller.AdvanceAsync(TimeSpan.FromHours(1)); // 01:10: tick 01:00 with config 1
        await WaitTicksAsync(silo, "report", 1);

        // A deploy that changes only the config keeps the next tick: nothing skipped, nothing repeated.
        await silo.ShutdownAsync();
        silo = await DeployAsync(v1 with { Config = new TestConfig(2) });
        Assert.Equal(s_monday.AddMinutes(110), (await silo.Schedules.GetAsync("report"))!.NextTick);

        // A run-time change wins over an unchanged declaration at the next start.
        var changed = await silo.Schedules.SetAsync(v1 with { Cron = "30 * * * *", Config = new TestConfig(3) }, "operator");
        Assert.Equal((JobScheduleSource.RunTime, "operator", true), (changed.Source, changed.UpdatedBy, changed.DeclaredInCode));
        Assert.Equal(s_monday.AddMinutes(80), changed.NextTick); // 01:30, the new expression's first tick after now
        await silo.ShutdownAsync();
        silo = await DeployAsync(v1 with { Config = new TestConfig(2) });
        var kept = (await silo.Schedules.GetAsync("report"))!;
        Assert.Equal(("30 * * * *", JobScheduleSource.RunTime), (kept.Cron, kept.Source));
        await EnsureLeaderAsync(silo);
        await controller.AdvanceAsync(TimeSpan.FromMinutes(30)); // 01:40: tick 01:30, config 3
        var ticks = await WaitTicksAsync(silo, "report", 2);
        Assert.Equal(3, (await silo.FindAsync(ticks[0].JobId!.Value)).Config<TestConfig>().Value);

        // Reset goes back to the declaration; a pause survives a deploy that changes the declaration.
        var reset = await silo.Schedules.ResetAsync("report");
        Assert.Equal(("0 * * * *", JobScheduleSource.Code, 2), (reset.Cron, reset.Source, System.Text.Json.JsonSerializer.Deserialize<TestConfig>(reset.ConfigJson, JsonWeb)!.Value));
        Assert.True((await silo.Schedules.PauseAsync("report", "operator")).Paused);
        await silo.ShutdownAsync();
        silo = await DeployAsync(v1 with { Cron = "15 * * * *", Config = new TestConfig(4) });
        var redeclared = (await silo.Schedules.GetAsync("report"))!;
        Assert.Equal(("15 * * * *", true, JobScheduleSource.Code), (redeclared.Cron, redeclared.Paused, redeclared.Source));
        var resumed = await silo.Schedules.ResumeAsync("report");
        Assert.False(resumed.Paused);
        Assert.Equal(s_monday.AddMinutes(125), resumed.NextTick); // 02:15, the first tick after now (01:40)

        // Removed at run time: an unchanged declaration does not bring it back; a changed one does.
        Assert.True(await silo.Schedules.RemoveAsync("report", "operator"));
        Assert.False(await silo.Schedules.RemoveAsync("report"));
        await silo.ShutdownAsync();
        silo = await DeployAsync(v1 with { Cron = "15 * * * *", Config = new TestConfig(4) });
        Assert.Null(await silo.Schedules.GetAsync("report"));
        await silo.ShutdownAsync();
        silo = await DeployAsync(v1 with { Cron = "45 * * * *", Config = new TestConfig(5) });
        Assert.Equal("45 * * * *", (await silo.Schedules.GetAsync("report"))!.Cron);

        // Retired in code: removed at start. A silo that no longer declares it leaves it alone (and warns).
        await silo.ShutdownAsync();
        silo = await DeployAsync(null);
        Assert.NotNull(await silo.Schedules.GetAsync("report"));
        await silo.ShutdownAsync();
        silo = await DeployAsync(null, retire: true);
        Assert.Null(await silo.Schedules.GetAsync("report"));

        // A schedule created at run time has no declaration to reset to, and deletes for good.
        await silo.Schedules.SetAsync(new JobScheduleSpec<TestConfig>("adhoc", type, "@daily", new TestConfig()));
        await Assert.ThrowsAsync<InvalidOperationException>(() => silo.Schedules.ResetAsync("adhoc"));
        Assert.True(await silo.Schedules.RemoveAsync("adhoc"));
        Assert.Equal(0L, await ScalarAsync<long>(harness, "SELECT count(*) FROM job_schedules WHERE name = 'adhoc'"));
    }

    [Fact]
    public async Task Bad_definitions_are_refused_with_specific_errors_and_nothing_is_written()
    {
        var database = await db.CreateDatabaseAsync();
        await using var client = JobClient.Create(new JobClientOptions { ConnectionString = database });
        await client.MigrateAsync();
        var type = new JobType("sched-bad");
        JobScheduleSpec<TestConfig> Spec(string cron = "0 * * * *") => new("bad", type, cron, new TestConfig());

        var cron = await Assert.ThrowsAsync<InvalidCronExpressionException>(() => client.Schedules.SetAsync(Spec("0 25 * * *")));
        Assert.Equal("0 25 * * *", cron.Expression);
        await Assert.ThrowsAsync<InvalidCronExpressionException>(() => client.Schedules.SetAsync(Spec("* * * *")));
        await Assert.ThrowsAsync<InvalidCronExpressionException>(() => client.Schedules.SetAsync(Spec("0 0 30 2 *"))); // never fires
        await Assert.ThrowsAsync<InvalidCronExpressionException>(() => client.Schedules.SetAsync(Spec("")));
        var word = await Assert.ThrowsAsync<InvalidCronExpressionException>(() => client.Schedules.SetAsync(Spec("hello")));
        Assert.StartsWith("'hello' is not a usable cron expression: it is one field, and not a macro.", word.Message, StringComparison.Ordinal);
        var zone = await Assert.ThrowsAsync<UnknownTimeZoneException>(() => client.Schedules.SetAsync(Spec() with { TimeZone = "Mars/Olympus_Mons" }));
        Assert.Equal("Mars/Olympus_Mons", zone.TimeZone);
        await Assert.ThrowsAsync<InvalidJobScheduleException>(() => client.Schedules.SetAsync(Spec() with { Name = "no spaces" }));
        await Assert.ThrowsAsync<InvalidJobScheduleException>(() => client.Schedules.SetAsync(Spec() with { Name = new string('n', 201) }));
        await Assert.ThrowsAsync<InvalidJobScheduleException>(() => client.Schedules.SetAsync(Spec() with { MisfireThreshold = TimeSpan.FromMilliseconds(10) }));
        await Assert.ThrowsAsync<InvalidJobScheduleException>(() => client.Schedules.SetAsync(Spec() with { JobType = default }));
        Assert.Throws<ArgumentOutOfRangeException>(() => JobMisfirePolicy.CatchUp(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => JobMisfirePolicy.CatchUp(JobMisfirePolicy.MaxCatchUp + 1));
        await Assert.ThrowsAsync<JobScheduleNotFoundException>(() => client.Schedules.PauseAsync("nobody"));
        await Assert.ThrowsAsync<JobScheduleNotFoundException>(() => client.Schedules.ResumeAsync("nobody"));
        await Assert.ThrowsAsync<JobScheduleNotFoundException>(() => client.Schedules.ResetAsync("nobody"));
        Assert.False(await client.Schedules.RemoveAsync("nobody"));
        Assert.Null(await client.Schedules.GetAsync("bad"));
        Assert.Empty(await client.Schedules.ListAsync());

        // Six fields (seconds), macros, jitter (H: fixed per name) and time zones are all accepted.
        var start = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        Assert.Equal([start.AddSeconds(10), start.AddSeconds(20)], JobSchedules.NextTicks("*/10 * * * * *", start, 2));
        Assert.Equal([start.AddDays(1)], JobSchedules.NextTicks("@daily", start, 1));
        Assert.Equal([start.AddHours(8)], JobSchedules.NextTicks("0 9 * * *", start, 1, "Europe/Zurich"));
        var made = await client.Schedules.SetAsync(Spec("H H * * *") with { TimeZone = "America/New_York" });
        Assert.Equal("America/New_York", made.TimeZone);
        Assert.Single(await client.Schedules.ListAsync());

        // In code, a bad declaration fails where it is made; an unregistered type fails the start.
        await using var harness = new JobsHarness(database);
        var jobs = await harness.StartAsync();
        Assert.Throws<InvalidCronExpressionException>(() => jobs.AddRecurring(Spec("not cron")));
        jobs.AddRecurring(Spec() with { Name = "orphan", JobType = new JobType("sched-nobody-registers") });
        var start2 = await Assert.ThrowsAsync<InvalidOperationException>(() => jobs.StartPollAsync());
        Assert.Contains("does not register", start2.Message);
    }

    private static readonly System.Text.Json.JsonSerializerOptions JsonWeb = new(System.Text.Json.JsonSerializerDefaults.Web);

    // The leader (and with it the ticker) is active: ticks from now on are its to fire.
    // A silo that runs the type and declares the schedules, with the cluster's leader active on it.
    private static async Task<Jobs> StartDeclaringAsync(JobsHarness harness, ClockHandle clock, JobType type, IEnumerable<JobScheduleSpec<TestConfig>> specs)
    {
        var jobs = await harness.StartAsync(b => b.Clock(clock));
        jobs.AddInitializer(TestInitializer.Completing(type.Name));
        foreach (var spec in specs)
        {
            jobs.AddRecurring(spec);
        }

        await jobs.StartPollAsync();
        await EnsureLeaderAsync(jobs);
        return jobs;
    }

    private static Task EnsureLeaderAsync(Jobs jobs) => jobs.GrainFactory.GetGrain<IJobLeaderGrain>(0).EnsureAsync();

    private static List<DateTimeOffset> Expected(string cron, DateTimeOffset from, DateTimeOffset to, TimeZoneInfo? zone = null) =>
        [.. CronExpression.Parse(cron, cron.Split(' ').Length == 6 ? CronFormat.IncludeSeconds : CronFormat.Standard)
            .GetOccurrences(from, to, zone ?? TimeZoneInfo.Utc, fromInclusive: false, toInclusive: true)
            .Select(t => t.ToUniversalTime())];

    // Moves the artificial clock to each expected tick in turn and waits until every schedule has handled
    // its ticks up to there, then to the end: the ticker fires each tick at its time, however long its
    // database round trips take on a loaded machine (a clock moved on past a tick the ticker had not
    // fired yet would make it a misfire).
    private static async Task AdvanceTickByTickAsync(ClockController controller, Jobs jobs, DateTimeOffset end,
        params (string Schedule, List<DateTimeOffset> Ticks)[] schedules)
    {
        foreach (var at in schedules.SelectMany(s => s.Ticks).Distinct().Order())
        {
            await controller.AdvanceAsync(at - controller.Now);
            foreach (var (schedule, ticks) in schedules)
            {
                await WaitTicksAsync(jobs, schedule, ticks.Count(t => t <= at));
            }
        }

        await controller.AdvanceAsync(end - controller.Now);
    }

    // Waits until the schedule handled at least this many ticks; returns them newest first.
    private static Task<IReadOnlyList<JobScheduleTick>> WaitTicksAsync(Jobs jobs, string schedule, int count) =>
        JobsHarness.EventuallyAsync(() => jobs.Schedules.TicksAsync(schedule, 1000), t => t.Count >= count);

    private static async Task AssertTicksAsync(Jobs jobs, string schedule, IReadOnlyList<DateTimeOffset> expected)
    {
        var ticks = await WaitTicksAsync(jobs, schedule, expected.Count);
        Assert.Equal(expected, ticks.Select(t => t.Tick).Reverse());
        Assert.Equal(expected.Count, ticks.Count(t => t.JobId is not null));
        Assert.Equal(expected.Count, ticks.Select(t => t.JobId).Distinct().Count());
    }

    private static Task<T> ScalarAsync<T>(JobsHarness harness, string sql) =>
        SqlHelper.ScalarAsync<T>(new Npgsql.NpgsqlConnectionStringBuilder(harness.ConnectionString) { SearchPath = "job" }.ConnectionString, sql);
}
