using System.Text.Json;
using Job.Maintenance;
using Job.Tests.Infrastructure;
using Job.Tests.Runtime;

namespace Job.Tests.Admin;

/// <summary>
/// The <c>schedules</c> verbs of Job.Silo (issue 13: schedules changed at run time through the
/// cockpit's CLI), run as the built program against a real database and a real silo that fires the
/// ticks: set (create, then change keeping what is not given), list, show with the ticks' jobs,
/// pause, resume, remove; bad input exits 2 and an unknown schedule 3, each with one error line.
/// </summary>
public sealed class ScheduleCliTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task The_schedules_verbs_set_list_show_pause_resume_and_remove_a_schedule_that_ticks()
    {
        await using var harness = new JobsHarness(db.ConnectionString);
        var jobs = await harness.StartAsync();
        var type = $"cli-sched-{Guid.NewGuid():N}";
        jobs.AddInitializer(TestInitializer.Completing(type));
        var declared = $"cli-declared-{Guid.NewGuid():N}";
        jobs.AddRecurring(new JobScheduleSpec<TestConfig>(declared, new JobType(type), "0 0 4 * * *", new TestConfig()));
        await jobs.StartPollAsync();
        await jobs.GrainFactory.GetGrain<IJobLeaderGrain>(0).EnsureAsync();
        const string name = "cli-every-second";

        // Created: every second, so the silo fires ticks while the test looks.
        var created = await CliAsync("schedules", "set", name, "--type", type, "--cron", "* * * * * *", "--config", """{"value":3,"tag":"cli"}""",
            "--overlap", "allow", "--misfire", "catch-up:5", "--actor", "cli-test");
        Assert.Equal(0, created.ExitCode);
        Assert.StartsWith($"{name} created: {type}", created.StdOut, StringComparison.Ordinal);
        var schedule = (await jobs.Schedules.GetAsync(name))!;
        Assert.Equal(new JobType(type), schedule.JobType);
        Assert.Equal(JobOverlapPolicy.Allow, schedule.Overlap);
        Assert.Equal(JobMisfirePolicy.CatchUp(5), schedule.Misfire);
        Assert.Equal("UTC", schedule.TimeZone);
        Assert.Equal("cli-test", schedule.UpdatedBy);
        Assert.Equal("cli", JsonDocument.Parse(schedule.ConfigJson).RootElement.GetProperty("tag").GetString());

        var ticked = await JobsHarness.EventuallyAsync(() => jobs.Schedules.TicksAsync(name, 10), t => t.Any(x => x.JobId is not null));
        var tickJob = ticked.First(t => t.JobId is not null).JobId!.Value;

        var list = await CliAsync("schedules", "list");
        Assert.Equal(0, list.ExitCode);
        Assert.StartsWith("NAME ", list.StdOut, StringComparison.Ordinal);
        var row = Assert.Single(list.StdOut.Split('\n'), l => l.StartsWith(name, StringComparison.Ordinal));
        Assert.Contains(type, row, StringComparison.Ordinal);
        Assert.Contains("* * * * * *", row, StringComparison.Ordinal);
        Assert.Contains("running", row, StringComparison.Ordinal);
        var listed = JsonDocument.Parse((await CliAsync("schedules", "list", "--json")).StdOut).RootElement.GetProperty("schedules");
        var entry = Assert.Single(listed.EnumerateArray(), s => s.GetProperty("name").GetString() == name);
        Assert.Equal("allow", entry.GetProperty("overlap").GetString());
        Assert.Equal("catch-up:5", entry.GetProperty("misfire").GetString());
        Assert.Equal(3, entry.GetProperty("config").GetProperty("value").GetInt32());

        // Show: the definition and the recent ticks with their jobs (every tick so far, to find the one seen above).
        var show = await CliAsync("schedules", "show", name, "--ticks", "1000");
        Assert.Equal(0, show.ExitCode);
        Assert.Contains(tickJob.ToString(), show.StdOut, StringComparison.Ordinal);
        Assert.Contains("spawned", show.StdOut, StringComparison.Ordinal);
        Assert.Contains("cli-test", show.StdOut, StringComparison.Ordinal);
        var shown = JsonDocument.Parse((await CliAsync("schedules", "show", name, "--json", "--ticks", "1000")).StdOut).RootElement;
        Assert.Equal(name, shown.GetProperty("schedule").GetProperty("name").GetString());
        Assert.Contains(shown.GetProperty("ticks").EnumerateArray(), t => t.GetProperty("jobId").GetString() == tickJob.ToString());
        var job = await JobsHarness.EventuallyAsync(() => jobs.FindAsync(tickJob), j => j.Completed);
        Assert.Equal(name, Assert.Single(job.Events, e => e.Type == JobEventTypes.ScheduleTick).Reason);

        // Changed: only the expression; the config and the policies stay.
        var changed = await CliAsync("schedules", "set", name, "--cron", "0 0 3 * * *", "--time-zone", "Europe/Zurich");
        Assert.Equal(0, changed.ExitCode);
        Assert.StartsWith($"{name} changed:", changed.StdOut, StringComparison.Ordinal);
        schedule = (await jobs.Schedules.GetAsync(name))!;
        Assert.Equal("0 0 3 * * *", schedule.Cron);
        Assert.Equal("Europe/Zurich", schedule.TimeZone);
        Assert.Equal(JobOverlapPolicy.Allow, schedule.Overlap);
        Assert.Equal(JobMisfirePolicy.CatchUp(5), schedule.Misfire);
        Assert.Equal("cli", JsonDocument.Parse(schedule.ConfigJson).RootElement.GetProperty("tag").GetString());
        Assert.EndsWith("(cli)", schedule.UpdatedBy, StringComparison.Ordinal);

        var paused = await CliAsync("schedules", "pause", name, "--actor", "cli-pauser");
        Assert.Equal(0, paused.ExitCode);
        Assert.StartsWith($"{name} paused", paused.StdOut, StringComparison.Ordinal);
        schedule = (await jobs.Schedules.GetAsync(name))!;
        Assert.True(schedule.Paused);
        Assert.Equal("cli-pauser", schedule.UpdatedBy);
        Assert.Contains("paused", Assert.Single((await CliAsync("schedules", "list")).StdOut.Split('\n'), l => l.StartsWith(name, StringComparison.Ordinal)), StringComparison.Ordinal);

        var resumed = JsonDocument.Parse((await CliAsync("schedules", "resume", name, "--json")).StdOut).RootElement;
        Assert.False(resumed.GetProperty("paused").GetBoolean());
        Assert.False((await jobs.Schedules.GetAsync(name))!.Paused);

        // Reset: a schedule declared in code goes back to its declaration; one made at run time has none.
        Assert.Equal(0, (await CliAsync("schedules", "set", declared, "--cron", "0 0 5 * * *")).ExitCode);
        Assert.Equal("0 0 5 * * *", (await jobs.Schedules.GetAsync(declared))!.Cron);
        var reset = await CliAsync("schedules", "reset", declared, "--actor", "cli-resetter");
        Assert.Equal(0, reset.ExitCode);
        Assert.StartsWith($"{declared} reset to its declaration in code: 0 0 4 * * * (UTC)", reset.StdOut, StringComparison.Ordinal);
        Assert.Equal("0 0 4 * * *", (await jobs.Schedules.GetAsync(declared))!.Cron);
        var notDeclared = await CliAsync("schedules", "reset", name);
        Assert.Equal(1, notDeclared.ExitCode);
        Assert.Equal($"error: Schedule '{name}' was created at run time, not declared in code: there is no declaration to reset it to.", OneLine(notDeclared.StdErr));

        var removed = await CliAsync("schedules", "remove", name);
        Assert.Equal(0, removed.ExitCode);
        Assert.StartsWith($"{name} removed", removed.StdOut, StringComparison.Ordinal);
        Assert.Null(await jobs.Schedules.GetAsync(name));
        var gone = await CliAsync("schedules", "show", name);
        Assert.Equal(3, gone.ExitCode);
        Assert.Equal($"error: No schedule named '{name}' exists (schedules list shows those that do).", OneLine(gone.StdErr));
    }

    [Fact]
    public async Task Bad_schedule_input_exits_2_and_an_unknown_schedule_exits_3_each_with_one_error_line()
    {
        await using var client = JobClient.Create(new JobClientOptions { ConnectionString = db.ConnectionString });
        await client.MigrateAsync();
        var type = $"cli-bad-{Guid.NewGuid():N}";

        var badCron = await CliAsync("schedules", "set", "bad-cron", "--type", type, "--cron", "61 * * * *");
        Assert.Equal(2, badCron.ExitCode);
        Assert.StartsWith("error: '61 * * * *' is not a usable cron expression", OneLine(badCron.StdErr), StringComparison.Ordinal);
        Assert.Null(await client.Schedules.GetAsync("bad-cron"));

        var badZone = await CliAsync("schedules", "set", "bad-zone", "--type", type, "--cron", "0 2 * * *", "--time-zone", "Mars/Olympus_Mons");
        Assert.Equal(2, badZone.ExitCode);
        Assert.StartsWith("error: 'Mars/Olympus_Mons' is not a time zone this machine knows", OneLine(badZone.StdErr), StringComparison.Ordinal);
        Assert.Null(await client.Schedules.GetAsync("bad-zone"));

        var noCron = await CliAsync("schedules", "set", "no-cron", "--type", type);
        Assert.Equal(2, noCron.ExitCode);
        Assert.Equal("error: There is no schedule 'no-cron' yet: create it with --type and --cron.", OneLine(noCron.StdErr));

        var badMisfire = await CliAsync("schedules", "set", "bad-misfire", "--type", type, "--cron", "0 2 * * *", "--misfire", "catch-up:0");
        Assert.Equal(2, badMisfire.ExitCode);
        Assert.StartsWith("error: --misfire takes skip, run-once or catch-up:N", OneLine(badMisfire.StdErr), StringComparison.Ordinal);

        var noVerb = await CliAsync("schedules");
        Assert.Equal(2, noVerb.ExitCode);
        Assert.StartsWith("error: schedules needs a verb: list, show, set, pause, resume, remove", noVerb.StdErr, StringComparison.Ordinal);

        foreach (var verb in new[] { "show", "pause", "resume", "remove" })
        {
            var unknown = await CliAsync("schedules", verb, "no-such-schedule");
            Assert.Equal(3, unknown.ExitCode);
            Assert.Equal("error: No schedule named 'no-such-schedule' exists (schedules list shows those that do).", OneLine(unknown.StdErr));
        }

        var unreachable = await DotnetProcess.RunAsync("Job.Silo.dll", ["schedules", "list"], Timeout,
            new Dictionary<string, string> { ["ConnectionStrings__Jobs"] = "Host=127.0.0.1;Port=1;Username=postgres;Password=hunter2;Database=jobs;Timeout=5" });
        Assert.Equal(1, unreachable.ExitCode);
        Assert.StartsWith("error:", OneLine(unreachable.StdErr), StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", unreachable.StdOut + unreachable.StdErr, StringComparison.Ordinal);
        Assert.DoesNotContain(await client.Schedules.ListAsync(), s => s.JobType.Name == type);
    }

    private Task<ProcessResult> CliAsync(params string[] args) =>
        DotnetProcess.RunAsync("Job.Silo.dll", args, Timeout, new Dictionary<string, string> { ["ConnectionStrings__Jobs"] = db.ConnectionString });

    private static string OneLine(string stderr) => Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}
