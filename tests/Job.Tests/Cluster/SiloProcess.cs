using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;

namespace Job.Tests.Cluster;

/// <summary>
/// One <c>Job.TestSilo</c> process (<c>dotnet Job.TestSilo.dll</c>): its output goes to a log file
/// and is kept in memory for the test to search; it can be killed, stopped, continued or asked to
/// shut down with real signals.
/// </summary>
internal sealed class SiloProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StreamWriter _log;
    private readonly Lock _logGate = new();
    private readonly ConcurrentQueue<(DateTime At, string Line)> _lines = new();
    private readonly TaskCompletionSource<string> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private SiloProcess(string label, string logPath, Process process, StreamWriter log)
    {
        Label = label;
        LogPath = logPath;
        _process = process;
        _log = log;
    }

    public string Label { get; }

    public string LogPath { get; }

    public int Pid => _process.Id;

    /// <summary>The silo's address as Orleans formats it (<c>claimed_by</c>, <c>test_runs.silo</c>); set once ready.</summary>
    public string? Address { get; private set; }

    public bool HasExited
    {
        get
        {
            try
            {
                return _process.HasExited;
            }
            catch (InvalidOperationException)
            {
                return true;
            }
        }
    }

    public int? ExitCode => HasExited ? _process.ExitCode : null;

    public static string SiloDllPath()
    {
        if (Environment.GetEnvironmentVariable("JOB_TEST_SILO_DLL") is { Length: > 0 } overridden)
        {
            return overridden;
        }

        // tests/Job.Tests/bin/<Configuration>/<tfm>/ → tests/Job.TestSilo/bin/<Configuration>/<tfm>/
        var baseDir = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var tfm = baseDir.Name;
        var configuration = baseDir.Parent!.Name;
        var testsDir = baseDir.Parent!.Parent!.Parent!.Parent!.FullName;
        var own = Path.Combine(testsDir, "Job.TestSilo", "bin", configuration, tfm, "Job.TestSilo.dll");
        if (File.Exists(own))
        {
            return own;
        }

        var copied = Path.Combine(AppContext.BaseDirectory, "Job.TestSilo.dll");
        return File.Exists(copied)
            ? copied
            : throw new FileNotFoundException($"Job.TestSilo.dll was found neither at {own} nor at {copied}; build the solution first.");
    }

    /// <summary>Starts <c>dotnet Job.TestSilo.dll</c>, or <c>&lt;prefix…&gt; dotnet Job.TestSilo.dll</c> when a
    /// command prefix is given (<c>ip netns exec ns1</c>: it execs dotnet in place, so <see cref="Pid"/> and
    /// the signals still reach the silo).</summary>
    public static SiloProcess Start(string label, string logPath, IReadOnlyDictionary<string, string> environment, IReadOnlyList<string>? commandPrefix = null)
    {
        var prefix = commandPrefix ?? [];
        var psi = new ProcessStartInfo(prefix.Count > 0 ? prefix[0] : "dotnet")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            WorkingDirectory = Path.GetDirectoryName(SiloDllPath())!,
        };
        if (prefix.Count > 0)
        {
            foreach (var word in prefix.Skip(1))
            {
                psi.ArgumentList.Add(word);
            }

            psi.ArgumentList.Add("dotnet");
        }

        psi.ArgumentList.Add(SiloDllPath());
        foreach (var (key, value) in environment)
        {
            psi.Environment[key] = value;
        }

        psi.Environment["JOB_TEST_LABEL"] = label;
        // Workstation GC unless a test asks otherwise: several silos share two cores here.
        psi.Environment.TryAdd("DOTNET_gcServer", "0");
        psi.Environment["DOTNET_TieredPGO"] = "0";
        Directory.CreateDirectory(Path.GetDirectoryName(logPath)!);
        var log = new StreamWriter(new FileStream(logPath, FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };
        var process = new Process { StartInfo = psi, EnableRaisingEvents = true };
        var silo = new SiloProcess(label, logPath, process, log);
        process.OutputDataReceived += (_, e) => silo.OnLine(e.Data, "");
        process.ErrorDataReceived += (_, e) => silo.OnLine(e.Data, "[stderr] ");
        process.Exited += (_, _) => silo._ready.TrySetException(new InvalidOperationException($"Silo {label} exited before it was ready; see {logPath}."));
        silo.Write($"==== {DateTime.UtcNow:HH:mm:ss.fff} starting {label}: {psi.FileName} {string.Join(' ', psi.ArgumentList)}");
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return silo;
    }

    private void OnLine(string? line, string prefix)
    {
        if (line is null)
        {
            return;
        }

        _lines.Enqueue((DateTime.UtcNow, line));
        Write(prefix + line);
        if (prefix.Length == 0 && line.StartsWith("READY ", StringComparison.Ordinal))
        {
            Address = line["READY ".Length..].Trim();
            _ready.TrySetResult(Address);
        }
    }

    private void Write(string line)
    {
        lock (_logGate)
        {
            try
            {
                _log.WriteLine(line);
            }
            catch (ObjectDisposedException)
            {
            }
        }
    }

    /// <summary>Writes a note from the test into this process's log, so the log tells the whole story.</summary>
    public void Note(string text) => Write($"==== {DateTime.UtcNow:HH:mm:ss.fff} TEST: {text}");

    public async Task<string> WaitReadyAsync(TimeSpan timeout)
    {
        try
        {
            return await _ready.Task.WaitAsync(timeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"Silo {Label} did not print READY within {timeout}; see {LogPath}.");
        }
    }

    public IReadOnlyList<(DateTime At, string Line)> Lines => [.. _lines];

    public int CountLines(Func<string, bool> predicate, DateTime? from = null, DateTime? to = null) =>
        _lines.Count(l => (from is null || l.At >= from) && (to is null || l.At <= to) && predicate(l.Line));

    public bool HasLine(string fragment) => _lines.Any(l => l.Line.Contains(fragment, StringComparison.Ordinal));

    /// <summary><c>kill -9</c>: the process gets no chance to clean up.</summary>
    public void Kill9()
    {
        Note("kill -9");
        try
        {
            _process.Kill(entireProcessTree: false);
        }
        catch (InvalidOperationException)
        {
        }
    }

    public Task SignalAsync(string signal)
    {
        Note($"kill -{signal}");
        return RunKillAsync(signal);
    }

    private async Task RunKillAsync(string signal)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", ["-s", signal, Pid.ToString(CultureInfo.InvariantCulture)])
        {
            UseShellExecute = false,
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        })!;
        await kill.WaitForExitAsync().ConfigureAwait(false);
    }

    public async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        try
        {
            await _process.WaitForExitAsync().WaitAsync(timeout).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!HasExited)
        {
            // A stopped process must be continued to die promptly after SIGKILL? SIGKILL works on stopped
            // processes too; continue anyway so nothing lingers.
            Kill9();
            await RunKillAsync("CONT").ConfigureAwait(false);
            await WaitForExitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        }

        // Let the output readers drain.
        try
        {
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
        }

        lock (_logGate)
        {
            _log.Dispose();
        }

        _process.Dispose();
    }
}
