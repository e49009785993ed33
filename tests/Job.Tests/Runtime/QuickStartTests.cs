using Job.Tests.Infrastructure;

namespace Job.Tests.Runtime;

/// <summary>The README's quick start (samples/QuickStart) runs as printed, as its own process.</summary>
public sealed class QuickStartTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    [Fact]
    public async Task The_quick_start_runs_its_job_to_completion()
    {
        var result = await DotnetProcess.RunAsync("QuickStart.dll", [db.ConnectionString], TimeSpan.FromSeconds(90));
        Assert.True(result.ExitCode == 0, $"exit {result.ExitCode}: {result.StdErr}");
        Assert.Contains("Processing value: 42", result.StdOut);
        Assert.Matches(@"Job [0-9a-f-]{36}: Completed", result.StdOut);
    }
}
