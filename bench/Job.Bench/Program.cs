using System.Globalization;
using System.Runtime.InteropServices;
using Job.Bench;
using Job.Bench.Infrastructure;
using Job.Bench.Reporting;
using Job.Bench.Workloads;

// A fresh process measuring its own time to first spawn: before anything else runs.
if (FirstSpawnProbe.IsProbeInvocation(args))
{
    return await FirstSpawnProbe.RunAsync(args).ConfigureAwait(false);
}

if (ExternalSilo.IsWorkerInvocation(args))
{
    return await ExternalSilo.RunWorkerAsync(args).ConfigureAwait(false);
}

BenchOptions options;
try
{
    options = BenchOptions.Parse(args);
}
catch (ArgumentException ex)
{
    await Console.Error.WriteLineAsync(ex.Message).ConfigureAwait(false);
    return 2;
}

using var cts = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true; // unwind: silos shut down and PostgreSQL stops in the finally blocks
    cts.Cancel();
};
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c =>
{
    c.Cancel = true;
    cts.Cancel();
});

return await new BenchRunner(options).RunAsync(cts.Token).ConfigureAwait(false);

namespace Job.Bench
{
    /// <summary>Starts PostgreSQL, runs the selected workloads in order, prints and writes the report.</summary>
    internal sealed class BenchRunner(BenchOptions options)
    {
        private static readonly IWorkload[] s_workloads =
            [new ThroughputWorkload(), new LatencyWorkload(), new ScheduleWorkload(), new ScaleWorkload(), new CeilingWorkload(), new DeployedWorkload(), new TenantsWorkload(), new FirstSpawnWorkload(), new LimitsWorkload(), new DashboardWorkload(), new StartFloorWorkload()];

        public async Task<int> RunAsync(CancellationToken ct)
        {
            var loadAtStart = ResourceSampler.LoadAverage();
            Console.WriteLine($"Job bench ({(options.Quick ? "quick" : "full")}): load average at start {loadAtStart}; starting PostgreSQL (fsync on)…");
            var results = new List<WorkloadResult>();
            BenchContext? context = null;
            string pgVersion = "?";
            try
            {
                await using var postgres = await BenchPostgres.StartAsync(ct).ConfigureAwait(false);
                pgVersion = await ServerVersionAsync(postgres, ct).ConfigureAwait(false);
                Console.WriteLine($"PostgreSQL {pgVersion} on 127.0.0.1:{postgres.Server.Port}, data in {postgres.Server.DataDirectory} (removed at exit)");
                context = new BenchContext(options, postgres);
                foreach (var workload in s_workloads.Where(w => options.Workloads.Contains(w.Name)))
                {
                    Console.WriteLine($"== {workload.Name}");
                    var result = new WorkloadResult(workload.Name);
                    results.Add(result);
                    try
                    {
                        await workload.RunAsync(context, result, ct).ConfigureAwait(false);
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
                    {
                        result.Fail($"{ex.GetType().Name}: {ex.Message}");
                        Console.WriteLine($"  FAILED: {ex}");
                    }
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                Console.WriteLine("Cancelled; PostgreSQL and the silos were stopped.");
                return 130;
            }

            if (context is { CeilingThroughput: { } ceiling, OneSiloThroughput: { } one })
            {
                var summary = new WorkloadResult("summary");
                summary.Metric("one_silo_vs_ceiling_pct", "1 silo vs plain-SQL ceiling", one / ceiling * 100, "%", "≥ 35 %");
                if (context.TwoSiloThroughput is { } two)
                {
                    summary.Metric("two_silos_vs_ceiling_pct", "2 silos vs plain-SQL ceiling", two / ceiling * 100, "%");
                }

                results.Add(summary);
            }

            var report = new Report { Environment = Header(loadAtStart, ResourceSampler.LoadAverage(), pgVersion) };
            results.ForEach(report.Add);
            var markdown = report.Markdown();
            Console.WriteLine();
            Console.WriteLine(markdown);
            foreach (var result in results)
            {
                Console.WriteLine(report.JsonLine(result));
            }

            var path = OutputPath();
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            await File.WriteAllTextAsync(path, markdown, CancellationToken.None).ConfigureAwait(false);
            Console.WriteLine($"Wrote {path}");
            return report.Failed ? 1 : 0;
        }

        private Dictionary<string, string> Header(string loadAtStart, string loadAtEnd, string pgVersion)
        {
            var header = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["mode"] = options.Quick ? "quick (smoke: checks completion, timings not meaningful)" : "full",
                ["date (UTC)"] = DateTimeOffset.UtcNow.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture),
                ["machine"] = $"{Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription}, .NET {Environment.Version}",
                ["load average (1/5/15 min) at start → end"] = $"{loadAtStart} → {loadAtEnd}",
                ["PostgreSQL"] = $"{pgVersion}, local (same machine), fsync on, " + string.Join(", ", BenchPostgres.Settings.Select(kv => $"{kv.Key} {kv.Value}")),
                ["silos"] = "in-process Jobs instances (Orleans silos on loopback) sharing the database and cluster; \"2 silos\" = " +
                            (options.SecondSiloProcess ? "one in this process + one in a child process" : "two Jobs instances in ONE process (same CPU budget)"),
                ["throughput jobs per run"] = options.Jobs.ToString("N0", CultureInfo.InvariantCulture),
                ["poller settings tried (MaxJobsPerProcess:Min)"] = string.Join(", ", options.PollerConfigs.Select(p => $"{p.Max}:{p.Min}")) +
                                                                   $"; latency/schedule/scale use {options.PollerConfigs[0].Max}:{options.PollerConfigs[0].Min}",
                ["targets"] = "shown for reference only, never asserted",
            };
            if (options.Workloads.Contains("deployed") || options.Workloads.Contains("tenants"))
            {
                header["deployed, tenants"] = "worker silos in separate processes (bench/Job.BenchWorker); this process spawns with no silo";
            }

            if (options.Workloads.Contains("deployed"))
            {
                header["deployed: shapes (workers x max:min), jobs per run, latency samples"] = string.Join(", ", options.DeployedShapes) + "; " +
                    options.DeployedJobs.ToString("N0", CultureInfo.InvariantCulture) + "; " + options.DeployedLatencySamples.ToString(CultureInfo.InvariantCulture);
            }

            if (options.Workloads.Contains("limits"))
            {
                header["limits: runs per setting"] = options.LimitsRepeats.ToString(CultureInfo.InvariantCulture) + " (median reported), interleaved; in-process silos";
            }

            if (options.Workloads.Contains("tenants"))
            {
                header["tenants: types, queues, samples, idle s, settle s"] = string.Join(", ", new[] { options.TenantTypes, options.TenantQueues, options.TenantSamples, options.TenantIdleSeconds, options.TenantSettleSeconds }
                    .Select(n => n.ToString("N0", CultureInfo.InvariantCulture))) + (options.TenantBaseline ? "; with a baseline worker" : "; no baseline worker") +
                    "; on a PostgreSQL server of its own, same settings plus pg_stat_statements preloaded";
            }

            return header;
        }

        private string OutputPath()
        {
            if (options.Output is { } output)
            {
                return Path.GetFullPath(output);
            }

            var file = options.Quick ? "latest-quick.md" : "latest.md";
            foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
            {
                for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
                {
                    if (File.Exists(Path.Combine(dir.FullName, "Job.sln")))
                    {
                        return Path.Combine(dir.FullName, "bench", "results", file);
                    }
                }
            }

            return Path.GetFullPath(Path.Combine("bench", "results", file));
        }

        private static async Task<string> ServerVersionAsync(BenchPostgres postgres, CancellationToken ct)
        {
            await using var ds = Npgsql.NpgsqlDataSource.Create(postgres.Server.ConnectionString);
            await using var cmd = ds.CreateCommand("SHOW server_version");
            return (string?)await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false) ?? "?";
        }
    }
}
