using System.Diagnostics;
using System.Globalization;
using System.Net;

namespace Job.Tests.Infrastructure;

/// <summary>
/// A worker program (samples/Worker, Job.Silo) run as a child process on free ports, with its output
/// kept for assertions; ready when its <c>/readyz</c> answers 200. Disposing sends SIGTERM, then kills.
/// </summary>
public sealed class WorkerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<string> _output = [];
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(5) };

    private WorkerProcess(Process process, int healthPort)
    {
        _process = process;
        HealthPort = healthPort;
        _process.OutputDataReceived += (_, e) => Record(e.Data);
        _process.ErrorDataReceived += (_, e) => Record(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <summary>The HTTP port of /healthz, /readyz and /metrics.</summary>
    public int HealthPort { get; }

    /// <summary>Every line written so far to stdout and stderr.</summary>
    public IReadOnlyList<string> Output
    {
        get
        {
            lock (_output)
            {
                return [.. _output];
            }
        }
    }

    /// <summary>Starts <paramref name="dll"/> in <paramref name="workingDirectory"/> with free silo, gateway and health ports.</summary>
    public static WorkerProcess Start(string dll, string workingDirectory, IReadOnlyDictionary<string, string> environment, IEnumerable<string>? args = null)
    {
        Assert.True(File.Exists(dll), $"{dll} is missing: build the solution first.");
        var ports = global::Job.TestSilo.FreePorts.Take(3);
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        start.ArgumentList.Add(dll);
        foreach (var arg in args ?? [])
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var key in start.Environment.Keys.Where(k => k.Contains("__", StringComparison.Ordinal)).ToList())
        {
            start.Environment.Remove(key);
        }

        start.Environment["Orleans__SiloPort"] = ports[0].ToString(CultureInfo.InvariantCulture);
        start.Environment["Orleans__GatewayPort"] = ports[1].ToString(CultureInfo.InvariantCulture);
        start.Environment["Health__Port"] = ports[2].ToString(CultureInfo.InvariantCulture);
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        return new WorkerProcess(Process.Start(start) ?? throw new InvalidOperationException($"Could not start {dll}."), ports[2]);
    }

    /// <summary>GET on the worker's HTTP port.</summary>
    public async Task<(HttpStatusCode Status, string Body)> GetAsync(string path)
    {
        using var response = await _http.GetAsync(new Uri($"http://127.0.0.1:{HealthPort}{path}"));
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>Waits until /readyz answers 200; fails with the output when the process exits or time runs out.</summary>
    public async Task WaitReadyAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            Assert.False(_process.HasExited, $"the worker exited with {(_process.HasExited ? _process.ExitCode : 0)}:\n{string.Join('\n', Output)}");
            try
            {
                if ((await GetAsync("/readyz")).Status == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }

            await Task.Delay(200);
        }

        throw new TimeoutException($"the worker was not ready within {timeout}:\n{string.Join('\n', Output)}");
    }

    /// <summary>SIGTERM, as an orchestrator stops a worker; returns the exit code.</summary>
    public async Task<int> StopAsync(TimeSpan timeout)
    {
        if (!_process.HasExited)
        {
            using var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]);
            await kill!.WaitForExitAsync();
            using var cts = new CancellationTokenSource(timeout);
            await _process.WaitForExitAsync(cts.Token);
        }

        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync(TimeSpan.FromSeconds(30));
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.Dispose();
        _http.Dispose();
    }

    private void Record(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.Add(line);
            }
        }
    }
}
