using Job.BenchWorker;
using NpgsqlTypes;

namespace Job.Bench.Infrastructure;

/// <summary>
/// Spawn → start latency of the record-start jobs: each start row holds the worker's UTC wall clock
/// at the top of the run (<c>started_at</c>) and the database's <c>clock_timestamp()</c> when the row
/// was written (<c>db_at</c>); the spawn side holds the UTC wall clock read just before
/// <c>SpawnAsync</c>. All processes and the server are on one machine, so these are one clock.
/// </summary>
public static class StartRecords
{
    /// <summary>Latency by the worker's clock (the reported one), by the database's clock (a cross-check:
    /// it also contains the start row's round trip), and the SpawnAsync calls themselves.</summary>
    public readonly record struct Latency(Percentiles WorkerClock, Percentiles DbClock, Percentiles SpawnCall, Percentiles RowWriteLag);

    public static async Task CreateTableAsync(BenchDatabase db, CancellationToken ct) =>
        await db.ExecuteAsync(WorkerJobTypes.CreateStartsTable, ct).ConfigureAwait(false);

    /// <summary>Waits until every spawned job has its start row (one indexed count every 100 ms; it never
    /// asks the worker anything).</summary>
    /// <exception cref="TimeoutException">Some did not start within <paramref name="timeout"/>.</exception>
    public static async Task WaitAsync(BenchDatabase db, IReadOnlyCollection<AppSpawner.PacedSpawn> spawns, TimeSpan timeout, CancellationToken ct)
    {
        var ids = spawns.Select(s => s.Id.Value).ToArray();
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var started = await CountAsync(db, ids, ct).ConfigureAwait(false);
            if (started >= ids.Length)
            {
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Only {started} of {ids.Length} '{WorkerJobTypes.RecordStart}' jobs started within {timeout.TotalSeconds:0} s.");
            }

            await Task.Delay(100, ct).ConfigureAwait(false);
        }
    }

    public static async Task<Latency> ReadAsync(BenchDatabase db, IReadOnlyCollection<AppSpawner.PacedSpawn> spawns, CancellationToken ct)
    {
        var byId = spawns.ToDictionary(s => s.Id.Value);
        var worker = new List<double>();
        var database = new List<double>();
        var lag = new List<double>();
        await using var cmd = db.DataSource.CreateCommand(
            $"SELECT job_id, started_at, db_at FROM {WorkerJobTypes.StartsTable} WHERE attempt = 1 AND job_id = ANY(@ids)");
        cmd.Parameters.AddWithValue("ids", NpgsqlDbType.Array | NpgsqlDbType.Uuid, byId.Keys.ToArray());
        await using var reader = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            var spawn = byId[reader.GetGuid(0)];
            var startedAt = reader.GetDateTime(1);
            var dbAt = reader.GetDateTime(2);
            worker.Add((startedAt - spawn.UtcBefore).TotalMilliseconds);
            database.Add((dbAt - spawn.UtcBefore).TotalMilliseconds);
            lag.Add((dbAt - startedAt).TotalMilliseconds);
        }

        return new Latency(Percentiles.Of(worker), Percentiles.Of(database), Percentiles.Of(spawns.Select(s => s.CallMs)), Percentiles.Of(lag));
    }

    private static Task<long> CountAsync(BenchDatabase db, Guid[] ids, CancellationToken ct) =>
        db.ScalarAsync($"SELECT count(*) FROM {WorkerJobTypes.StartsTable} WHERE attempt = 1 AND job_id = ANY(@ids)", ct, ("ids", ids));

    public static object Json(Percentiles p) => new
    {
        n = p.Count,
        p50_ms = Math.Round(p.P50, 2),
        p95_ms = Math.Round(p.P95, 2),
        p99_ms = Math.Round(p.P99, 2),
        max_ms = Math.Round(p.Max, 2),
        mean_ms = Math.Round(p.Mean, 2),
    };
}
