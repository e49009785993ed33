using System.Text.RegularExpressions;
using System.Text.Json;
using Job.Tests.Infrastructure;
using Job.Tests.Runtime;

namespace Job.Tests.Admin;

/// <summary>
/// The operator verbs of Job.Silo (issue 12.5), run as the built program against a real database:
/// tables and --json, the exit codes (0 done, 2 usage, 3 no such job, 4 the state forbids it), one
/// error line, and never the password.
/// </summary>
public sealed class AdminCliTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task The_verbs_list_show_cancel_retry_delete_pause_resume_and_stats_work_on_a_real_database()
    {
        await using var client = JobClient.Create(new JobClientOptions { ConnectionString = db.ConnectionString });
        await client.MigrateAsync();
        var type = new JobType($"cli-{Guid.NewGuid():N}");
        var spawner = client.Spawner<TestConfig>(type);
        var job = await spawner.SpawnAtAsync(JobId.New(), new TestConfig(1, "cli"), client.Clock.Now.AddHours(1));
        var other = await spawner.SpawnAtAsync(JobId.New(), new TestConfig(2), client.Clock.Now.AddHours(2));

        var list = await CliAsync("list", "--type", type.Name);
        Assert.Equal(0, list.ExitCode);
        Assert.StartsWith("ID ", list.StdOut, StringComparison.Ordinal);
        Assert.Contains(job.Id.ToString(), list.StdOut, StringComparison.Ordinal);
        Assert.Contains("scheduled", list.StdOut, StringComparison.Ordinal);

        var listed = JsonDocument.Parse((await CliAsync("list", "--type", type.Name, "--limit", "1", "--oldest-first", "--json")).StdOut).RootElement;
        Assert.Equal(job.Id.ToString(), listed.GetProperty("jobs")[0].GetProperty("id").GetString());
        Assert.False(string.IsNullOrEmpty(listed.GetProperty("nextCursor").GetString()));

        var show = await CliAsync("show", job.Id.ToString());
        Assert.Equal(0, show.ExitCode);
        Assert.Contains("\"tag\":\"cli\"", show.StdOut.Replace(" ", "", StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.Contains("execution_scheduled", show.StdOut, StringComparison.Ordinal);
        Assert.DoesNotContain("older: --before", show.StdOut, StringComparison.Ordinal);
        var newest = await CliAsync("show", job.Id.ToString(), "--events", "1");
        var older = Regex.Match(newest.StdOut, @"1 of (\d+) events; older: --before (\d+)");
        Assert.True(older.Success, newest.StdOut);
        var first = await CliAsync("show", job.Id.ToString(), "--before", older.Groups[2].Value);
        Assert.Contains("initialized", first.StdOut, StringComparison.Ordinal);
        Assert.DoesNotContain("older: --before", first.StdOut, StringComparison.Ordinal);

        // A failure's stack trace, which the table cuts to one line, follows it in full.
        await SqlHelper.ExecuteAsync(db.ConnectionString,
            "INSERT INTO job_events (job_id, event_type, attempt, error_message, error_type, error_detail, recorded_at) VALUES (@id, 'execution_errored', 1, 'boom', 'System.InvalidOperationException', @detail, now())",
            ("id", other.Id.Value), ("detail", "System.InvalidOperationException: boom\n   at Cli.Job.RunAsync() in Job.cs:line 7\n ---> System.IO.IOException: disk"));
        var failed = await CliAsync("show", other.Id.ToString());
        Assert.Contains("System.InvalidOperationException: boom", failed.StdOut, StringComparison.Ordinal);
        Assert.Matches(@"(?m)^failure of event #\d+ \(attempt 1, .*\):\n  System\.InvalidOperationException: boom\n     at Cli\.Job\.RunAsync\(\) in Job\.cs:line 7\n   ---> System\.IO\.IOException: disk$", failed.StdOut.ReplaceLineEndings("\n"));
        Assert.DoesNotContain("failure of event", show.StdOut, StringComparison.Ordinal);

        var deleteLive = await CliAsync("delete", job.Id.ToString());
        Assert.Equal(4, deleteLive.ExitCode);
        Assert.Equal($"error: Cannot delete job {job.Id}: it is scheduled.", OneLine(deleteLive.StdErr));

        Assert.Equal(0, (await CliAsync("cancel", job.Id.ToString(), "--actor", "cli-test")).ExitCode);
        Assert.Equal("cli-test", (await client.FindAsync(job.Id)).Events.Single(e => e.Type == JobEventTypes.JobCancelled).Actor);
        var cancelled = await CliAsync("show", job.Id.ToString());
        Assert.Contains("by cli-test", cancelled.StdOut, StringComparison.Ordinal);
        Assert.DoesNotContain("by cli-test; by cli-test", cancelled.StdOut, StringComparison.Ordinal); // who, once
        Assert.Matches(@"(?m)^attempt\s+1\s*$", cancelled.StdOut); // the attempt the finished job ended in
        var retried = await CliAsync("retry", "--type", type.Name, "--state", "cancelled", "--json");
        Assert.Equal(1, JsonDocument.Parse(retried.StdOut).RootElement.GetProperty("changed").GetInt32());
        Assert.Equal(JobStatus.Pending, (await client.GetStatusAsync(job.Id)).Status);

        Assert.Equal(0, (await CliAsync("cancel", job.Id.ToString(), other.Id.ToString())).ExitCode);
        var deleted = await CliAsync("delete", "--type", type.Name);
        Assert.Equal(0, deleted.ExitCode);
        Assert.Contains("2 changed", deleted.StdOut, StringComparison.Ordinal);
        var gone = await CliAsync("show", job.Id.ToString());
        Assert.Equal(3, gone.ExitCode);
        Assert.Equal($"error: No job with id {job.Id} exists.", OneLine(gone.StdErr));

        Assert.Equal(0, (await CliAsync("pause", type.Name)).ExitCode);
        Assert.True((await client.FlowControl.GetAsync(type))!.Paused);
        var stats = JsonDocument.Parse((await CliAsync("stats", "--json")).StdOut).RootElement;
        Assert.Contains(type.Name, stats.GetProperty("pausedTypes").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(0, (await CliAsync("resume", type.Name)).ExitCode);
        Assert.False((await client.FlowControl.GetAsync(type))!.Paused);
        var table = await CliAsync("stats");
        Assert.Contains("TOTAL", table.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Usage_mistakes_exit_2_and_an_unreachable_database_exits_1_with_one_line_and_no_password()
    {
        var bogus = await CliAsync("list", "--state", "bogus");
        Assert.Equal(2, bogus.ExitCode);
        Assert.StartsWith("error: --state takes", OneLine(bogus.StdErr), StringComparison.Ordinal);

        // An API error about a bad value reads as the option's, not as a .NET parameter's.
        var noEvents = await CliAsync("show", JobId.New().ToString(), "--events", "0");
        Assert.Equal(2, noEvents.ExitCode);
        Assert.Equal($"error: A history window holds 1 to {JobHistoryWindow.MaxLimit} events (asked for 0).", OneLine(noEvents.StdErr));

        var empty = await CliAsync("list", "--limit", "0");
        Assert.Equal(2, empty.ExitCode);
        Assert.Equal($"error: A page holds 1 to {JobListQuery.MaxPageSize} jobs (asked for 0).", OneLine(empty.StdErr));

        var nothing = await CliAsync("retry");
        Assert.Equal(2, nothing.ExitCode);
        Assert.Contains("needs job ids, a filter", OneLine(nothing.StdErr), StringComparison.Ordinal);

        var unreachable = await DotnetProcess.RunAsync("Job.Silo.dll", ["stats"], Timeout,
            new Dictionary<string, string> { ["ConnectionStrings__Jobs"] = "Host=127.0.0.1;Port=1;Username=postgres;Password=hunter2;Database=jobs;Timeout=5" });
        Assert.Equal(1, unreachable.ExitCode);
        Assert.StartsWith("error:", OneLine(unreachable.StdErr), StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", unreachable.StdOut + unreachable.StdErr, StringComparison.Ordinal);

        // A server that refuses the password: the same words as a worker's start.
        var refused = await DotnetProcess.RunAsync("Job.Silo.dll", ["stats"], Timeout, new Dictionary<string, string>
        {
            ["ConnectionStrings__Jobs"] = new Npgsql.NpgsqlConnectionStringBuilder(db.ConnectionString) { Password = "not-the-password" }.ConnectionString,
        });
        Assert.Equal(1, refused.ExitCode);
        Assert.StartsWith("error: the job database refused the connection: password authentication failed for user", OneLine(refused.StdErr), StringComparison.Ordinal);
        Assert.DoesNotContain("not-the-password", refused.StdOut + refused.StdErr, StringComparison.Ordinal);
    }

    private Task<ProcessResult> CliAsync(params string[] args) =>
        DotnetProcess.RunAsync("Job.Silo.dll", args, Timeout, new Dictionary<string, string> { ["ConnectionStrings__Jobs"] = db.ConnectionString });

    private static string OneLine(string stderr) => Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}
