using Job.Tests.Infrastructure;

namespace Job.Tests.Silo;

/// <summary>
/// Issue 10.16: settings on the silo's command line are read strictly. A duration needs its unit (a
/// bare 5 is not five days), a misspelled key is an error naming it, and a key without a value never
/// takes the next argument as its value, nor shows it: that argument may be a connection string.
/// Each run points at an unreachable database, so a setting that was wrongly accepted ends in a
/// different error instead of starting a silo.
/// </summary>
public sealed class SiloSettingsTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private static readonly Dictionary<string, string> Unreachable = new()
    {
        ["ConnectionStrings__Jobs"] = "Host=127.0.0.1;Port=1;Username=postgres;Database=jobs;Timeout=5",
        ["Orleans__SiloPort"] = "0",
        ["Orleans__GatewayPort"] = "0",
        ["Health__Port"] = "0",
    };

    [Fact]
    public async Task A_duration_without_its_unit_is_refused() =>
        Assert.StartsWith("error: Jobs:ShutdownTimeout must be a duration with its unit", await RefusedAsync("--Jobs:ShutdownTimeout=5"), StringComparison.Ordinal);

    [Theory]
    [InlineData("--Jobs:ShutdownTimout=5s", "Jobs:ShutdownTimout")]
    [InlineData("--Orleans:SiloPrt=1", "Orleans:SiloPrt")]
    public async Task A_misspelled_key_is_an_error_naming_it(string argument, string key) =>
        Assert.StartsWith($"error: {key} is not a setting", await RefusedAsync(argument), StringComparison.Ordinal);

    [Theory]
    [InlineData("--Jobs:StartPollingWithSilo=false", "Jobs:StartPollingWithSilo")]
    [InlineData("--Jobs:UsePostgresClustering=false", "Jobs:UsePostgresClustering")]
    public async Task A_setting_for_embedding_applications_is_refused_by_a_worker(string argument, string key) =>
        // A worker that did not poll, or did not cluster on Job's database, would start and run nothing.
        Assert.StartsWith($"error: {key} is a setting for applications that run Job in a silo of their own", await RefusedAsync(argument), StringComparison.Ordinal);

    [Fact]
    public async Task A_misspelled_key_is_not_offered_the_settings_a_worker_refuses()
    {
        var line = await RefusedAsync("--Jobs:MaxJobs=5");
        Assert.Contains("MaxJobsPerProcess", line, StringComparison.Ordinal);
        Assert.DoesNotContain("StartPollingWithSilo", line, StringComparison.Ordinal);
        Assert.DoesNotContain("UsePostgresClustering", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_key_without_a_value_takes_nothing_and_shows_nothing_of_the_next_argument()
    {
        var result = await DotnetProcess.RunAsync("Job.Silo.dll", ["--Jobs:ShutdownTimeout", "Host=db;Password=hunter2"], Timeout, Unreachable);

        Assert.DoesNotContain("hunter2", result.StdOut, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", result.StdErr, StringComparison.Ordinal);
        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith("error: --Jobs:ShutdownTimeout has no value", Lines(result.StdErr)[0], StringComparison.Ordinal);
    }

    // Runs the silo with one setting that must stop its start: exit code 1 and one line on stderr.
    private static async Task<string> RefusedAsync(string argument)
    {
        var result = await DotnetProcess.RunAsync("Job.Silo.dll", [argument], Timeout, Unreachable);
        Assert.Equal(1, result.ExitCode);
        return Assert.Single(Lines(result.StdErr));
    }

    private static string[] Lines(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
