using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Job.BenchWorker;

namespace Job.Bench.Infrastructure;

/// <summary>
/// One <c>Job.BenchWorker</c> process (<c>dotnet Job.BenchWorker.dll</c>): a worker silo as users deploy
/// one, joined to a bench database's cluster. Its stderr (logs) and any stdout line that is not part
/// of the protocol go to a log file; stdin carries commands (RUNS, STATS) and closing it stops the
/// worker, so it never outlives the bench. Stopped with SIGTERM, the graceful path.
/// </summary>
public sealed class WorkerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StreamWriter _log;
    private readonly Lock _logGate = new();
    private readonly TaskCompletionSource<Dictionary<string, string>> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ConcurrentQueue<TaskCompletionSource<string>> _replies = new();
    private readonly SemaphoreSlim _command = new(1, 1);
    private bool _stopped;

    private WorkerProcess(string label, string logPath, Process process, StreamWriter log)
    {
        Label = label;
        LogPath = logPath;
        _process = process;
        _log = log;
    }

    /// <summary>What to start.</summary>
    /// <param name="SiloOnly">The worker's <c>--silo-only</c>: its Orleans silo with Job's PostgreSQL providers, nothing of Job's.</param>
    /// <param name="ServiceId">The Orleans service id (the worker's default, <c>job-bench</c>, when null).</param>
    public sealed record Launch(string ConnectionString, string ClusterId, int MaxJobs, int MinJobs, int TenantTypes = 0, string Label = "worker",
        bool SiloOnly = false, string? ServiceId = null);

    public string Label { get; }

    public string LogPath { get; }

    public int Pid => _process.Id;

    /// <summary>UTC wall clock just before the process was started.</summary>
    public DateTime LaunchedUtc { get; private set; }

    /// <summary>Stopwatch timestamp just before the process was started.</summary>
    public long LaunchedTimestamp { get; private set; }

    /// <summary>The READY line's fields, once ready.</summary>
    public IReadOnlyDictionary<string, string>? Ready { get; private set; }

    /// <summary>Seconds from launch to READY.</summary>
    public double ReadySeconds { get; private set; }

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

    /// <summary>The worker's entry assembly: <c>JOB_BENCH_WORKER_DLL</c>, else the ReadyToRun copy a Release
    /// build publishes (bench/Job.BenchWorker/bin/Release/published/, as users deploy a worker), else its
    /// own build output next to this bench's (bench/Job.BenchWorker/bin/&lt;configuration&gt;/&lt;tfm&gt;/), else
    /// the copy in this bench's output folder (it references the worker project).</summary>
    public static string WorkerDllPath()
    {
        if (Environment.GetEnvironmentVariable("JOB_BENCH_WORKER_DLL") is { Length: > 0 } overridden)
        {
            return overridden;
        }

        var baseDir = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        if (baseDir.Parent?.Parent?.Parent?.Parent is { } benchDir)
        {
            var published = Path.Combine(benchDir.FullName, "Job.BenchWorker", "bin", baseDir.Parent.Name, "published", "Job.BenchWorker.dll");
            if (File.Exists(published))
            {
                return published;
            }

            var own = Path.Combine(benchDir.FullName, "Job.BenchWorker", "bin", baseDir.Parent.Name, baseDir.Name, "Job.BenchWorker.dll");
            if (File.Exists(own))
            {
                return own;
            }
        }

        var copied = Path.Combine(AppContext.BaseDirectory, "Job.BenchWorker.dll");
        return File.Exists(copied)
            ? copied
            : throw new FileNotFoundException($"Job.BenchWorker.dll was found neither next to bench/Job.BenchWorker's build output nor at {copied}; build bench/Job.Bench first (it builds the worker).");
    }

    /// <summary>Starts the process; <see cref="WaitReadyAsync"/> waits for its READY line.</summary>
    public static WorkerProcess Start(Launch launch, string logDirectory)
    {
        var dll = WorkerDllPath();
        var psi = new ProcessStartInfo("dotnet")
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetDirectoryName(dll)!,
        };
        psi.ArgumentList.Add(dll);
        foreach (var arg in new[]
                 {
                     "--cluster", launch.ClusterId,
                     "--max-jobs", Str(launch.MaxJobs),
                     "--min-jobs", Str(launch.MinJobs),
                     "--tenant-types", Str(launch.TenantTypes),
                     "--label", launch.Label,
                     "--exit-on-stdin-eof", "true",
                     "--silo-only", launch.SiloOnly ? "true" : "false",
                 })
        {
            psi.ArgumentList.Add(arg);
        }

        if (launch.ServiceId is { } serviceId)
        {
            psi.ArgumentList.Add("--service");
            psi.ArgumentList.Add(serviceId);
        }

        // Not on the command line, where every process could read it.
        psi.Environment["JOB_BENCH_WORKER_CONNECTION_STRING"] = launch.ConnectionString;
        Directory.CreateDirectory(logDirectory);
        var logPath = Path.Combine(logDirectory, launch.Label + ".log");
        var log = new StreamWriter(new FileStream(logPath, FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };
        var process = new Process { StartInfo = psi, EnableRaisingEvents = true };
        var worker = new WorkerProcess(launch.Label, logPath, process, log);
        process.OutputDataReceived += (_, e) => worker.OnStdout(e.Data);
        process.ErrorDataReceived += (_, e) => worker.Write(e.Data);
        process.Exited += (_, _) => worker.OnExited();
        worker.Write($"==== {DateTime.UtcNow:HH:mm:ss.fff} starting {launch.Label}: dotnet {string.Join(' ', psi.ArgumentList)}");
        worker.LaunchedUtc = DateTime.UtcNow;
        worker.LaunchedTimestamp = Stopwatch.GetTimestamp();
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return worker;
    }

    /// <exception cref="TimeoutException">No READY within <paramref name="timeout"/>.</exception>
    /// <exception cref="InvalidOperationException">The worker exited first.</exception>
    public async Task<IReadOnlyDictionary<string, string>> WaitReadyAsync(TimeSpan timeout, CancellationToken ct)
    {
        try
        {
            return await _ready.Task.WaitAsync(timeout, ct).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"Worker {Label} was not ready within {timeout.TotalSeconds:0} s; see {LogPath}.");
        }
    }

    /// <summary>The worker's run counters (an in-memory read in the worker: nothing else).</summary>
    public async Task<(long Total, long Noop, long RecordStart)> RunsAsync(CancellationToken ct)
    {
        var fields = WorkerProtocol.Fields(await CommandAsync(WorkerProtocol.RunsCommand, ct).ConfigureAwait(false));
        return (Long(fields, "total"), Long(fields, "noop"), Long(fields, "start"));
    }

    /// <summary>The worker's STATS (it asks Orleans' management grain for this silo's activations).</summary>
    public async Task<WorkerStats> StatsAsync(CancellationToken ct)
    {
        var line = await CommandAsync(WorkerProtocol.StatsCommand, ct).ConfigureAwait(false);
        return JsonSerializer.Deserialize<WorkerStats>(line[(line.IndexOf(' ', StringComparison.Ordinal) + 1)..], WorkerProtocol.Json)
               ?? throw new InvalidOperationException($"Worker {Label} answered STATS with nothing.");
    }

    /// <summary>CPU time (user + system) of the worker process so far, read from /proc (costs the worker nothing).</summary>
    public TimeSpan Cpu() => ResourceSampler.ProcessCpu(Pid) ?? throw new InvalidOperationException($"Worker {Label} (pid {Pid}) is gone; see {LogPath}.");

    /// <summary>VmRSS and VmHWM (peak) of the worker, in MB.</summary>
    public (double RssMb, double PeakRssMb) Memory() => ResourceSampler.Memory(Pid);

    /// <summary>SIGTERM, then waits for a graceful exit; kills it after <paramref name="timeout"/>.
    /// Returns how long the stop took and whether it was graceful (exit code 0 in time).</summary>
    public async Task<(double Seconds, bool Graceful)> StopAsync(TimeSpan timeout)
    {
        var start = Stopwatch.GetTimestamp();
        if (HasExited)
        {
            return (0, false);
        }

        _stopped = true;
        Write($"==== {DateTime.UtcNow:HH:mm:ss.fff} SIGTERM");
        using (var kill = Process.Start(new ProcessStartInfo("kill", ["-s", "TERM", Str(Pid)]) { UseShellExecute = false })!)
        {
            await kill.WaitForExitAsync().ConfigureAwait(false);
        }

        try
        {
            await _process.WaitForExitAsync().WaitAsync(timeout).ConfigureAwait(false);
            return (Stopwatch.GetElapsedTime(start).TotalSeconds, _process.ExitCode == 0);
        }
        catch (TimeoutException)
        {
            Write($"==== {DateTime.UtcNow:HH:mm:ss.fff} no exit {timeout.TotalSeconds:0} s after SIGTERM: killed");
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
            return (Stopwatch.GetElapsedTime(start).TotalSeconds, false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!HasExited)
        {
            await StopAsync(TimeSpan.FromSeconds(60)).ConfigureAwait(false);
        }

        try
        {
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false); // let the readers drain
        }
        catch (TimeoutException)
        {
        }

        lock (_logGate)
        {
            _log.Dispose();
        }

        _process.Dispose();
        _command.Dispose();
    }

    private async Task<string> CommandAsync(string command, CancellationToken ct)
    {
        await _command.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            var reply = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
            _replies.Enqueue(reply);
            await _process.StandardInput.WriteLineAsync(command.AsMemory(), ct).ConfigureAwait(false);
            await _process.StandardInput.FlushAsync(ct).ConfigureAwait(false);
            try
            {
                return await reply.Task.WaitAsync(TimeSpan.FromSeconds(60), ct).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                throw new TimeoutException($"Worker {Label} did not answer {command} within 60 s; see {LogPath}.");
            }
        }
        finally
        {
            _command.Release();
        }
    }

    private void OnStdout(string? line)
    {
        if (line is null)
        {
            return;
        }

        if (line.StartsWith(WorkerProtocol.Ready + " ", StringComparison.Ordinal))
        {
            ReadySeconds = Stopwatch.GetElapsedTime(LaunchedTimestamp).TotalSeconds;
            Ready = WorkerProtocol.Fields(line);
            _ready.TrySetResult(WorkerProtocol.Fields(line));
        }
        else if ((line.StartsWith(WorkerProtocol.Stats + " ", StringComparison.Ordinal) || line.StartsWith(WorkerProtocol.Runs + " ", StringComparison.Ordinal))
                 && _replies.TryDequeue(out var reply))
        {
            reply.TrySetResult(line);
            return; // answers are not logged: STATS lines are long
        }

        Write(line);
    }

    private void OnExited()
    {
        var code = HasExited ? _process.ExitCode : -1;
        Write($"==== {DateTime.UtcNow:HH:mm:ss.fff} exited with code {code}");
        var error = new InvalidOperationException($"Worker {Label} exited (code {code}){(_stopped ? "" : " unexpectedly")}; see {LogPath}.");
        _ready.TrySetException(error);
        while (_replies.TryDequeue(out var reply))
        {
            reply.TrySetException(error);
        }
    }

    private void Write(string? line)
    {
        if (line is null)
        {
            return;
        }

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

    private static long Long(Dictionary<string, string> fields, string key) =>
        fields.TryGetValue(key, out var v) && long.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n : 0;

    private static string Str(int n) => n.ToString(CultureInfo.InvariantCulture);
}
