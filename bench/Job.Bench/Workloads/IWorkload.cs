using Job.Bench.Infrastructure;
using Job.Bench.Reporting;

namespace Job.Bench.Workloads;

/// <summary>One benchmark. It creates its own database(s) and silos and disposes them before returning.</summary>
public interface IWorkload
{
    string Name { get; }

    /// <summary>Runs and fills <paramref name="result"/>; throws <see cref="BenchCheckException"/> (or a
    /// timeout) when jobs did not all complete.</summary>
    Task RunAsync(BenchContext context, WorkloadResult result, CancellationToken ct);
}

/// <summary>What the workloads share: options, the server, samplers, and results other workloads compare with.</summary>
public sealed class BenchContext(BenchOptions options, BenchPostgres postgres)
{
    public BenchOptions Options { get; } = options;

    public BenchPostgres Postgres { get; } = postgres;

    public ResourceSampler Sampler { get; } = new(postgres.Server.DataDirectory);

    /// <summary>Where worker processes write their logs (one file per worker), kept after the run.</summary>
    public string WorkerLogDirectory { get; } = Path.Combine(Path.GetTempPath(), "job-bench-workers",
        DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", System.Globalization.CultureInfo.InvariantCulture) + "-" + Environment.ProcessId);

    /// <summary>Best one-silo no-op throughput (jobs/s), set by the throughput workload.</summary>
    public double? OneSiloThroughput { get; set; }

    /// <summary>Best two-silo no-op throughput (jobs/s).</summary>
    public double? TwoSiloThroughput { get; set; }

    /// <summary>Best plain-SQL throughput (jobs/s), set by the ceiling workload.</summary>
    public double? CeilingThroughput { get; set; }

    /// <summary>Generous time limits: they catch a stuck run, never judge a slow one.</summary>
    public static TimeSpan TimeoutFor(int jobs) => TimeSpan.FromSeconds(Math.Max(60, jobs / 100.0));
}
