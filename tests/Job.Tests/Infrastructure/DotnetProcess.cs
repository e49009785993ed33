using System.Diagnostics;

namespace Job.Tests.Infrastructure;

/// <summary>The outcome of a program run to its end.</summary>
public sealed record ProcessResult(int ExitCode, string StdOut, string StdErr);

/// <summary>Runs one of the solution's programs (from its own build folder, see <see cref="BuiltPrograms"/>) as a child process.</summary>
public static class DotnetProcess
{
    // Settings from the developer's shell must never leak into a child under test.
    private static readonly string[] s_scrubbed =
    [
        "ConnectionStrings__Jobs", "Jobs__ConnectionString", "Orleans__SiloPort", "Orleans__GatewayPort", "Orleans__AdvertisedIP",
        "Health__Port", "Health__Address", "Demo__SpawnOnStart", "Otlp__Endpoint",
    ];

    public static async Task<ProcessResult> RunAsync(string dllName, IEnumerable<string> args, TimeSpan timeout, IReadOnlyDictionary<string, string>? environment = null)
    {
        var dll = BuiltPrograms.PathOf(dllName);
        Assert.True(File.Exists(dll), $"{dllName} is not built ({dll}); the test project must reference its project.");
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetTempPath(),
        };
        start.ArgumentList.Add(dll);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var key in s_scrubbed)
        {
            start.Environment.Remove(key);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {dllName}.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{dllName} {string.Join(' ', args)} did not exit within {timeout}.");
        }

        return new ProcessResult(process.ExitCode, await stdout, await stderr);
    }
}
