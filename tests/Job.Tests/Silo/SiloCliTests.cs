using Job.Tests.Infrastructure;

namespace Job.Tests.Silo;

/// <summary>
/// Runs the built Job.Silo as a child process (it is copied next to this test assembly through the
/// project reference) and checks the command line: printed migrations, usage errors, and that a bad
/// database ends with one <c>error:</c> line and exit code 1 instead of a stack trace or an abort.
/// </summary>
public sealed class SiloCliTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task MigratePrintWritesAllMigrationSqlWithoutADatabase()
    {
        var result = await RunSiloAsync(["migrate", "--print"], new() { ["ConnectionStrings__Jobs"] = "Host=127.0.0.1;Port=1;Database=none" });

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("CREATE TABLE jobs", result.StdOut, StringComparison.Ordinal);
        Assert.Contains("OrleansQuery", result.StdOut, StringComparison.Ordinal);
        Assert.Contains("-- ==== Migration 0001_", result.StdOut, StringComparison.Ordinal);
        Assert.Contains("INSERT INTO job_schema_migrations", result.StdOut, StringComparison.Ordinal); // it records itself
    }

    [Fact]
    public async Task UnknownVerbPrintsUsageAndExits2()
    {
        var result = await RunSiloAsync(["frobnicate"]);

        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith("error: unknown verb 'frobnicate'", result.StdErr, StringComparison.Ordinal);
        Assert.Contains("Usage:", result.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_health_port_already_taken_ends_with_one_error_line_and_exit_1()
    {
        using var taken = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        taken.Start();
        var port = ((System.Net.IPEndPoint)taken.LocalEndpoint).Port;
        var result = await RunSiloAsync([$"--Health:Port={port}"], new()
        {
            ["ConnectionStrings__Jobs"] = "Host=127.0.0.1;Port=1;Username=postgres;Database=jobs;Timeout=5",
            ["Orleans__SiloPort"] = "0",
            ["Orleans__GatewayPort"] = "0",
        });

        Assert.Equal(1, result.ExitCode);
        var line = Assert.Single(result.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.Equal($"error: health port {port} is already in use", line);
    }

    [Fact]
    public async Task A_password_in_the_connection_string_is_never_shown()
    {
        var result = await RunSiloAsync(["migrate"], new()
        {
            ["ConnectionStrings__Jobs"] = "Host=127.0.0.1;Port=1;Username=postgres;Password=hunter2;Database=jobs;Timeout=5",
        });

        Assert.Equal(1, result.ExitCode);
        Assert.Equal("error: cannot connect to PostgreSQL at 127.0.0.1:1: connection refused", Assert.Single(result.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)));
        Assert.DoesNotContain("hunter2", result.StdOut + result.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HelpPrintsUsageAndExits0()
    {
        var result = await RunSiloAsync(["--help"]);

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("migrate --print", result.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnreachableDatabaseEndsWithOneErrorLineAndExit1()
    {
        var result = await RunSiloAsync([], new()
        {
            ["ConnectionStrings__Jobs"] = "Host=127.0.0.1;Port=1;Username=postgres;Database=jobs;Timeout=5",
            // Ports of our own, so a silo running elsewhere on the machine cannot make this fail differently.
            ["Orleans__SiloPort"] = "0",
            ["Orleans__GatewayPort"] = "0",
            ["Health__Port"] = "0",
        });

        Assert.Equal(1, result.ExitCode);
        var lines = result.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var line = Assert.Single(lines);
        Assert.StartsWith("error:", line, StringComparison.Ordinal);
        Assert.Contains("127.0.0.1:1", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_silo_port_already_taken_ends_with_one_error_line_and_exit_1()
    {
        using var taken = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Any, 0);
        taken.Start();
        var port = ((System.Net.IPEndPoint)taken.LocalEndpoint).Port;
        var result = await RunSiloAsync([], new()
        {
            ["ConnectionStrings__Jobs"] = "Host=127.0.0.1;Port=1;Username=postgres;Database=jobs;Timeout=5",
            ["Orleans__SiloPort"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Orleans__GatewayPort"] = "0",
            ["Health__Port"] = "0",
        });

        Assert.Equal(1, result.ExitCode);
        var line = Assert.Single(result.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.Equal($"error: silo port {port} is already in use", line);
    }

    [Fact]
    public async Task MalformedSettingNamesTheKeyAndExits1()
    {
        var result = await RunSiloAsync(["--Orleans:SiloPort=abc"], new() { ["ConnectionStrings__Jobs"] = "Host=127.0.0.1;Port=1;Database=jobs" });

        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith("error: Orleans:SiloPort", result.StdErr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--Jobs:HistoryRetention=a week", "error: Jobs:HistoryRetention must be a duration with its unit")]
    [InlineData("--Jobs:HistoryRetention=00:00:00", "error: Jobs:HistoryRetention must be between 00:00:01 and")]
    [InlineData("--Jobs:MembershipPauseTolerance=5s", "error: Jobs:MembershipPauseTolerance (00:00:05) must be at least three times MembershipProbeTimeout (00:00:03)")]
    [InlineData("--Jobs:MembershipProbeTimeout=soon", "error: Jobs:MembershipProbeTimeout must be a duration with its unit")]
    [InlineData("--Jobs:MembershipProbeTimeout=0s", "error: Jobs:MembershipProbeTimeout must be between")]
    [InlineData("--Orleans:AdvertisedIP=0.0.0.0", "error: Orleans:AdvertisedIP must be the IP address other silos reach this one at")]
    [InlineData("--Health:Port=70000", "error: Health:Port must be a port")]
    [InlineData("--Otlp:Endpoint=collector:4317", "error: Otlp:Endpoint must be an absolute http:// or https:// address")]
    [InlineData("--Demo:SpawnOnStart=-1", "error: Demo:SpawnOnStart must be a whole number from 0 to 1000000")]
    public async Task A_bad_job_setting_names_the_key_and_exits_1(string argument, string expected)
    {
        var result = await RunSiloAsync([argument], new() { ["ConnectionStrings__Jobs"] = "Host=127.0.0.1;Port=1;Database=jobs", ["Health__Port"] = "0" });

        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith(expected, result.StdErr, StringComparison.Ordinal);
        Assert.Single(result.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    private static Task<ProcessResult> RunSiloAsync(string[] args, Dictionary<string, string>? environment = null) =>
        DotnetProcess.RunAsync("Job.Silo.dll", args, Timeout, environment);
}
