using System.Diagnostics;
using Job.BenchWorker;
using Job.Hosting;

namespace Job.Bench.Infrastructure;

/// <summary>
/// The application side of a deployment: spawners over the runtime's database layer with no silo in
/// this process (as the cluster tests' harness builds them). A spawn is one statement whose commit
/// NOTIFYs the workers; nothing here takes part in the Orleans cluster.
/// </summary>
public sealed class AppSpawner : IAsyncDisposable
{
    private readonly JobRuntime _runtime;

    public AppSpawner(string connectionString)
    {
        _runtime = new JobRuntime(new JobsOptions { ConnectionString = connectionString });
        Noop = new JobSpawner<NoopConfig>(new JobType(WorkerJobTypes.Noop), _runtime.Context);
        RecordStart = new JobSpawner<RecordStartConfig>(new JobType(WorkerJobTypes.RecordStart), _runtime.Context);
    }

    public JobSpawner<NoopConfig> Noop { get; }

    public JobSpawner<RecordStartConfig> RecordStart { get; }

    /// <summary>One spawn of the paced series.</summary>
    public readonly record struct PacedSpawn(JobId Id, DateTime UtcBefore, double CallMs);

    /// <summary>Spawns <paramref name="count"/> no-op jobs due now, <paramref name="batch"/> per
    /// <c>SpawnAllAsync</c> call; returns the elapsed time.</summary>
    public async Task<TimeSpan> SpawnNoopBulkAsync(int count, int batch, CancellationToken ct)
    {
        var start = Stopwatch.GetTimestamp();
        var config = new NoopConfig();
        for (var done = 0; done < count; done += batch)
        {
            var n = Math.Min(batch, count - done);
            var specs = new JobSpec<NoopConfig>[n];
            for (var i = 0; i < n; i++)
            {
                specs[i] = new JobSpec<NoopConfig>(JobId.New(), config);
            }

            await Noop.SpawnAllAsync(specs, ct).ConfigureAwait(false);
        }

        return Stopwatch.GetElapsedTime(start);
    }

    /// <summary>Single <c>SpawnAsync</c> calls of the record-start type, one per <paramref name="interval"/>;
    /// each with the UTC wall clock read just before the call.</summary>
    public async Task<List<PacedSpawn>> SpawnRecordStartPacedAsync(int count, TimeSpan interval, CancellationToken ct)
    {
        var spawns = new List<PacedSpawn>(count);
        var config = new RecordStartConfig();
        using var timer = new PeriodicTimer(interval);
        for (var i = 0; i < count; i++)
        {
            await timer.WaitForNextTickAsync(ct).ConfigureAwait(false);
            var id = JobId.New();
            var before = DateTime.UtcNow;
            var ts = Stopwatch.GetTimestamp();
            await RecordStart.SpawnAsync(id, config, ct).ConfigureAwait(false);
            spawns.Add(new PacedSpawn(id, before, Stopwatch.GetElapsedTime(ts).TotalMilliseconds));
        }

        return spawns;
    }

    public async ValueTask DisposeAsync() => await _runtime.DisposeAsync().ConfigureAwait(false);
}
