using System.Diagnostics;
using System.Globalization;
using Job.Bench.Infrastructure;
using Job.Bench.Reporting;
using Npgsql;

namespace Job.Bench.Workloads;

/// <summary>
/// Time to first spawn (issue 14.3): how long a fresh process takes from its launch to its first
/// committed spawn, per way of spawning (<see cref="FirstSpawnProbe"/>: <c>JobClient.Create</c>,
/// <c>AddJobClient</c>, a plain Orleans client with <c>UseJobCluster</c>, and <c>Jobs.InitAsync</c>, which
/// starts a silo). One worker process runs meanwhile (the cluster the Orleans client and the facade
/// join, and what runs the jobs). Each round launches one probe per mode, in turn; the first round is a
/// warm-up (the OS file cache) and is not counted. "Cold" = this process's UTC clock just before the
/// launch to the probe's UTC clock at the commit: the .NET runtime's start is included. The probe also
/// reports milliseconds from its Main to the client being ready and to the commit. Every spawned job
/// is checked to exist.
/// </summary>
public sealed class FirstSpawnWorkload : IWorkload
{
    private static readonly TimeSpan s_probeTimeout = TimeSpan.FromSeconds(180);

    public string Name => "firstspawn";

    public async Task RunAsync(BenchContext context, WorkloadResult result, CancellationToken ct)
    {
        var loadStart = ResourceSampler.LoadAverage();
        Console.WriteLine($"  load average at start {loadStart}");
        await using var db = await context.Postgres.CreateDatabaseAsync("firstspawn", ct).ConfigureAwait(false);
        // As an application has it: no search_path (the Orleans client's UseJobCluster sets its own).
        var plain = new NpgsqlConnectionStringBuilder(db.ConnectionString) { SearchPath = null }.ConnectionString;
        await using var worker = WorkerProcess.Start(new WorkerProcess.Launch(db.ConnectionString, db.Name, 16, 8, Label: "firstspawn-worker"), context.WorkerLogDirectory);
        await worker.WaitReadyAsync(TimeSpan.FromSeconds(120), ct).ConfigureAwait(false);

        var rounds = context.Options.FirstSpawnRounds;
        var samples = FirstSpawnProbe.Modes.ToDictionary(m => m, _ => new List<Sample>());
        var ids = new List<Guid>();
        for (var round = 0; round <= rounds; round++)
        {
            foreach (var mode in FirstSpawnProbe.Modes)
            {
                var sample = await ProbeAsync(mode, plain, db.Name, ct).ConfigureAwait(false);
                ids.Add(sample.Id);
                if (round > 0)
                {
                    samples[mode].Add(sample);
                }

                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  {(round == 0 ? "warm-up" : $"round {round}")} {mode,-12} cold {sample.ColdMs,7:F0} ms (in process: ready {sample.ReadyMs,6:F0} ms, committed {sample.SpawnedMs,6:F0} ms; process exit {sample.ExitMs,6:F0} ms)"));
            }
        }

        var found = await db.ScalarAsync("SELECT count(*) FROM jobs WHERE id = ANY(@ids)", ct, ("ids", ids.ToArray())).ConfigureAwait(false);
        if (found != ids.Count)
        {
            throw new BenchCheckException($"{ids.Count} probes reported a committed spawn; {found} of those jobs exist.");
        }

        var loadEnd = ResourceSampler.LoadAverage();
        Console.WriteLine($"  load average at end {loadEnd}");
        foreach (var mode in FirstSpawnProbe.Modes)
        {
            var s = samples[mode];
            var cold = s.Select(x => x.ColdMs).ToList();
            result.Metric($"{mode}_cold_ms", $"{Label(mode)}: launch → first spawn committed (median of {s.Count})", Percentiles.Of(cold).P50, "ms");
            result.Metric($"{mode}_in_process_ms", $"{Label(mode)}: Main → first spawn committed (median)", Percentiles.Of(s.Select(x => x.SpawnedMs).ToList()).P50, "ms");
            result.Data($"{mode}_cold_min_ms", Math.Round(cold.Min(), 1));
            result.Data($"{mode}_cold_max_ms", Math.Round(cold.Max(), 1));
            result.Data($"{mode}_ready_median_ms", Math.Round(Percentiles.Of(s.Select(x => x.ReadyMs).ToList()).P50, 1));
            result.Note(string.Create(CultureInfo.InvariantCulture,
                $"{Label(mode)}: cold {string.Join(", ", cold.Select(c => c.ToString("F0", CultureInfo.InvariantCulture)))} ms; in process ready median {Percentiles.Of(s.Select(x => x.ReadyMs).ToList()).P50:F0} ms"));
        }

        result.Data("load_average_start", loadStart).Data("load_average_end", loadEnd).Data("rounds", rounds);
        result.Note($"load average {loadStart} at start, {loadEnd} at end; one worker process running; {rounds} counted rounds after one warm-up");
    }

    private static string Label(string mode) => mode switch
    {
        "client" => "JobClient.Create",
        "addjobclient" => "AddJobClient (DI)",
        "orleans" => "Orleans client + UseJobCluster",
        _ => "Jobs.InitAsync (a silo)",
    };

    private static async Task<Sample> ProbeAsync(string mode, string connectionString, string clusterId, CancellationToken ct)
    {
        var self = Environment.ProcessPath ?? throw new InvalidOperationException("Cannot find this program's path.");
        var info = new ProcessStartInfo(self)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (Path.GetFileNameWithoutExtension(self).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
        {
            info.ArgumentList.Add(typeof(FirstSpawnProbe).Assembly.Location);
        }

        foreach (var arg in FirstSpawnProbe.Arguments(mode, connectionString, clusterId, "job-bench"))
        {
            info.ArgumentList.Add(arg);
        }

        var launchedUtc = DateTime.UtcNow;
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(info) ?? throw new InvalidOperationException("Could not start a probe process.");
        var stderr = process.StandardError.ReadToEndAsync(ct);
        string? line;
        string? report = null;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(s_probeTimeout);
        try
        {
            while ((line = await process.StandardOutput.ReadLineAsync(timeout.Token).ConfigureAwait(false)) is not null)
            {
                if (line.StartsWith("FIRSTSPAWN ", StringComparison.Ordinal))
                {
                    report = line;
                }
            }

            await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            process.Kill(entireProcessTree: true);
            throw new BenchCheckException($"The {mode} probe did not finish within {s_probeTimeout}.");
        }

        var exitMs = clock.Elapsed.TotalMilliseconds;
        if (process.ExitCode != 0 || report is null)
        {
            throw new BenchCheckException($"The {mode} probe failed (exit {process.ExitCode}): {await stderr.ConfigureAwait(false)}");
        }

        var fields = report.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1)
            .Select(f => f.Split('=', 2)).ToDictionary(f => f[0], f => f[1], StringComparer.Ordinal);
        var committed = DateTime.Parse(fields["committed_utc"], CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind);
        return new Sample(
            Guid.Parse(fields["id"]),
            (committed - launchedUtc).TotalMilliseconds,
            double.Parse(fields["ready_ms"], CultureInfo.InvariantCulture),
            double.Parse(fields["spawned_ms"], CultureInfo.InvariantCulture),
            exitMs);
    }

    private sealed record Sample(Guid Id, double ColdMs, double ReadyMs, double SpawnedMs, double ExitMs);
}
