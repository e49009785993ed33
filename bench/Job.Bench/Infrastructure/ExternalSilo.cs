using System.Diagnostics;
using System.Globalization;

namespace Job.Bench.Infrastructure;

/// <summary>
/// A silo in a child process (this program with <c>--silo-worker</c>), joined to the same database and
/// cluster. Protocol on stdin/stdout: the child prints READY once its silo is up, starts polling on
/// POLL, and shuts down on STOP or when stdin closes (so it never outlives us).
/// </summary>
public sealed class ExternalSilo : IAsyncDisposable
{
    private const string WorkerFlag = "--silo-worker";
    private readonly Process _process;

    private ExternalSilo(Process process) => _process = process;

    public static bool IsWorkerInvocation(string[] args) => args.Length > 0 && args[0] == WorkerFlag;

    public static async Task<ExternalSilo> StartAsync(BenchDatabase db, JobPollerConfig poller, CancellationToken ct)
    {
        var self = Environment.ProcessPath ?? throw new InvalidOperationException("Cannot find this program's path.");
        var info = new ProcessStartInfo(self)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        if (Path.GetFileNameWithoutExtension(self).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
        {
            info.ArgumentList.Add(typeof(ExternalSilo).Assembly.Location);
        }

        foreach (var arg in new[] { WorkerFlag, db.ConnectionString, db.Name, Str(poller.MaxJobsPerProcess), Str(poller.MinJobsPerProcess) })
        {
            info.ArgumentList.Add(arg);
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException("Could not start the second silo process.");
        var silo = new ExternalSilo(process);
        try
        {
            await silo.ExpectAsync("READY", ct).ConfigureAwait(false);
            return silo;
        }
        catch
        {
            await silo.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public async Task StartPollingAsync(CancellationToken ct)
    {
        await _process.StandardInput.WriteLineAsync("POLL".AsMemory(), ct).ConfigureAwait(false);
        await _process.StandardInput.FlushAsync(ct).ConfigureAwait(false);
        await ExpectAsync("POLLING", ct).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                await _process.StandardInput.WriteLineAsync("STOP").ConfigureAwait(false);
                _process.StandardInput.Close();
                using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                await _process.WaitForExitAsync(wait.Token).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or InvalidOperationException)
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }
        }
        finally
        {
            _process.Dispose();
        }
    }

    /// <summary>The child's main: one silo until STOP or end of stdin.</summary>
    public static async Task<int> RunWorkerAsync(string[] args)
    {
        var (cs, cluster) = (args[1], args[2]);
        var poller = new JobPollerConfig { MaxJobsPerProcess = int.Parse(args[3], CultureInfo.InvariantCulture), MinJobsPerProcess = int.Parse(args[4], CultureInfo.InvariantCulture) };
        var config = JobSvcConfig.Builder().PgCon(cs).Cluster(cluster).PollerConfig(poller).Build();
        await using var jobs = await Jobs.InitAsync(config).ConfigureAwait(false);
        jobs.AddInitializer(new BenchInitializer(new RunProbe()));
        Console.WriteLine("READY");
        while (await Console.In.ReadLineAsync().ConfigureAwait(false) is { } line && line != "STOP")
        {
            if (line == "POLL")
            {
                await jobs.StartPollAsync().ConfigureAwait(false);
                Console.WriteLine("POLLING");
            }
        }

        await jobs.ShutdownAsync().ConfigureAwait(false);
        return 0;
    }

    private async Task ExpectAsync(string expected, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        while (await _process.StandardOutput.ReadLineAsync(timeout.Token).ConfigureAwait(false) is { } line)
        {
            if (line == expected)
            {
                return;
            }
        }

        throw new InvalidOperationException($"The second silo process exited (code {(_process.HasExited ? _process.ExitCode : -1)}) before saying {expected}.");
    }

    private static string Str(int n) => n.ToString(CultureInfo.InvariantCulture);
}
