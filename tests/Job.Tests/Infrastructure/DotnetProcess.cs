using System.Diagnostics;

namespace Job.Tests.Infrastructure;

/// <summary>The outcome of a program run to its end.</summary>
public sealed record ProcessResult(int ExitCode, string StdOut, string StdErr)
{
    /// <summary>Both streams, for assertion messages.</summary>
    public string Output => StdErr.Length == 0 ? StdOut : $"{StdOut}\n--- stderr ---\n{StdErr}";
}

/// <summary>Runs one of the solution's programs (from its own build folder, see <see cref="BuiltPrograms"/>), or the dotnet CLI itself, as a child process.</summary>
public static class DotnetProcess
{
    // Settings from the developer's shell must never leak into a child under test.
    private static readonly string[] s_scrubbed =
    [
        "ConnectionStrings__Jobs", "Jobs__ConnectionString", "Orleans__SiloPort", "Orleans__GatewayPort", "Orleans__AdvertisedIP",
        "Health__Port", "Health__Address", "Demo__SpawnOnStart", "Otlp__Endpoint",
    ];

    /// <summary>The dotnet host that runs the tests (the SDK's, under <c>dotnet test</c>).</summary>
    private static string DotnetHost => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";

    public static Task<ProcessResult> RunAsync(string dllName, IEnumerable<string> args, TimeSpan timeout, IReadOnlyDictionary<string, string>? environment = null)
    {
        var dll = BuiltPrograms.PathOf(dllName);
        Assert.True(File.Exists(dll), $"{dllName} is not built ({dll}); the test project must reference its project.");
        var overrides = new Dictionary<string, string?>();
        foreach (var key in s_scrubbed)
        {
            overrides[key] = null;
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            overrides[key] = value;
        }

        return RunProcessAsync(dllName, [dll, .. args], Path.GetTempPath(), timeout, overrides);
    }

    /// <summary>
    /// Runs a dotnet CLI command (<c>dotnet pack</c>, <c>build</c>, <c>run</c> …) in <paramref name="workingDirectory"/>.
    /// The MSBuild variables of the test run (set by <c>dotnet test</c>) are removed so the child is a build of its own;
    /// pass <c>--disable-build-servers</c> to commands that build, or a build server left running holds the output
    /// pipes open. An <paramref name="environment"/> value of null removes that variable.
    /// </summary>
    public static Task<ProcessResult> RunCliAsync(IEnumerable<string> args, string workingDirectory, TimeSpan timeout, IReadOnlyDictionary<string, string?>? environment = null)
    {
        var overrides = new Dictionary<string, string?>(StringComparer.Ordinal)
        {
            ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
            ["DOTNET_NOLOGO"] = "1",
            ["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1",
            ["MSBUILDDISABLENODEREUSE"] = "1",
        };
        foreach (var key in Environment.GetEnvironmentVariables().Keys.Cast<string>())
        {
            if (key.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase) && !overrides.ContainsKey(key))
            {
                overrides[key] = null;
            }
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string?>())
        {
            overrides[key] = value;
        }

        var argList = args.ToList();
        return RunProcessAsync($"dotnet {string.Join(' ', argList.Take(2))}", argList, workingDirectory, timeout, overrides);
    }

    private static async Task<ProcessResult> RunProcessAsync(string name, IReadOnlyList<string> args, string workingDirectory, TimeSpan timeout, IReadOnlyDictionary<string, string?> environment)
    {
        var start = new ProcessStartInfo(DotnetHost)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in environment)
        {
            if (value is null)
            {
                start.Environment.Remove(key);
            }
            else
            {
                start.Environment[key] = value;
            }
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {name}.");
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
            var output = await Task.WhenAny(stdout, Task.Delay(TimeSpan.FromSeconds(5))) == stdout ? await stdout : "";
            throw new TimeoutException($"{name} did not exit within {timeout}. Its output so far:\n{Tail(output)}");
        }

        return new ProcessResult(process.ExitCode, await stdout, await stderr);
    }

    private static string Tail(string text, int maxChars = 8000) => text.Length <= maxChars ? text : "…" + text[^maxChars..];
}
