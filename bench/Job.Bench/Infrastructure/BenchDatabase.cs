using System.Diagnostics;
using Job.Storage;
using Npgsql;

namespace Job.Bench.Infrastructure;

/// <summary>The PostgreSQL server of a run (started here, fsync on) and one fresh database per workload.</summary>
public sealed class BenchPostgres : IAsyncDisposable
{
    private readonly Silo.Embedded.LocalPostgres _server;
    private int _databases;

    private BenchPostgres(Silo.Embedded.LocalPostgres server) => _server = server;

    /// <summary>The settings the server runs with (reported with the results).</summary>
    public static IReadOnlyDictionary<string, string> Settings { get; } = new Dictionary<string, string>
    {
        ["shared_buffers"] = "256MB",
        ["max_connections"] = "300",
        ["synchronous_commit"] = "on",
        ["full_page_writes"] = "on",
    };

    public Silo.Embedded.LocalPostgres Server => _server;

    /// <summary>Starts a server with <see cref="Settings"/>, plus <paramref name="extraSettings"/> (a workload
    /// that needs, say, pg_stat_statements preloaded starts a server of its own, so the other workloads
    /// keep running without it).</summary>
    public static async Task<BenchPostgres> StartAsync(CancellationToken ct, IReadOnlyDictionary<string, string>? extraSettings = null)
    {
        var options = new Silo.Embedded.LocalPostgresOptions { Fsync = true, StopWithOwnerProcess = true };
        foreach (var (key, value) in Settings.Concat(extraSettings ?? new Dictionary<string, string>()))
        {
            options.ServerSettings[key] = value;
        }

        return new BenchPostgres(await Silo.Embedded.LocalPostgres.StartAsync(options, ct).ConfigureAwait(false));
    }

    /// <summary>A new empty database with the job schema applied.</summary>
    public async Task<BenchDatabase> CreateDatabaseAsync(string purpose, CancellationToken ct)
    {
        var name = $"bench_{Interlocked.Increment(ref _databases)}_{purpose}";
        var cs = await _server.CreateDatabaseAsync(name, ct).ConfigureAwait(false);
        var builder = new NpgsqlConnectionStringBuilder(cs) { MaxPoolSize = 100, SearchPath = "job,public" };
        var db = new BenchDatabase(name, builder.ConnectionString);
        await JobMigrations.RunAsync(db.DataSource, ct).ConfigureAwait(false);
        return db;
    }

    public async ValueTask DisposeAsync() => await _server.DisposeAsync().ConfigureAwait(false);
}

/// <summary>One benchmark database: its connection string and the harness's own queries.</summary>
public sealed class BenchDatabase(string name, string connectionString) : IAsyncDisposable
{
    public string Name { get; } = name;

    public string ConnectionString { get; } = connectionString;

    /// <summary>The harness's own pool (checks, setup), separate from the silos' pools.</summary>
    public NpgsqlDataSource DataSource { get; } = NpgsqlDataSource.Create(connectionString);

    public async Task ExecuteAsync(string sql, CancellationToken ct, int timeoutSeconds = 30)
    {
        await using var cmd = DataSource.CreateCommand(sql);
        cmd.CommandTimeout = timeoutSeconds;
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    public async Task<long> ScalarAsync(string sql, CancellationToken ct, params (string Name, object Value)[] parameters)
    {
        await using var cmd = DataSource.CreateCommand(sql);
        foreach (var (pname, value) in parameters)
        {
            cmd.Parameters.AddWithValue(pname, value);
        }

        return Convert.ToInt64(await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Live jobs of the type that are due within the hour: pending, running, parked behind another job
    /// of their serial queue, or scheduled for the next hour. Each part matches one of the partial indexes, so
    /// the check stays cheap with a million future rows in the table: it runs inside timed windows (an
    /// unindexed count scanned the whole table, about 50 ms a call).</summary>
    public Task<long> LiveDueCountAsync(string jobType, CancellationToken ct) =>
        ScalarAsync("""
            SELECT (SELECT count(*) FROM job_executions WHERE state = 'pending' AND job_type = @t)
                 + (SELECT count(*) FROM job_executions WHERE state = 'running' AND job_type = @t)
                 + (SELECT count(*) FROM job_executions
                    WHERE state = 'parked' AND queue_id IS NOT NULL AND job_type = @t)
                 + (SELECT count(*) FROM job_executions
                    WHERE state = 'scheduled' AND execute_at <= now() + interval '1 hour' AND job_type = @t)
            """, ct, ("t", jobType));

    public Task<long> CompletedCountAsync(string jobType, CancellationToken ct) =>
        ScalarAsync("SELECT count(*) FROM jobs WHERE job_type = @t AND terminal_state = 'completed'", ct, ("t", jobType));

    /// <summary>Waits until no job of the type due within the hour is live (pending or running): all are terminal.</summary>
    /// <exception cref="TimeoutException">Jobs are still live after <paramref name="timeout"/>.</exception>
    public async Task WaitUntilDrainedAsync(string jobType, TimeSpan timeout, CancellationToken ct, int pollMilliseconds = 5)
    {
        var sw = Stopwatch.StartNew();
        while (true)
        {
            var live = await LiveDueCountAsync(jobType, ct).ConfigureAwait(false);
            if (live == 0)
            {
                return;
            }

            if (sw.Elapsed > timeout)
            {
                throw new TimeoutException($"{live} '{jobType}' job(s) were still live after {timeout.TotalSeconds:0} s.");
            }

            await Task.Delay(pollMilliseconds, ct).ConfigureAwait(false);
        }
    }

    /// <summary>Checks that exactly <paramref name="expected"/> jobs of the type completed.</summary>
    /// <exception cref="BenchCheckException">Another number did.</exception>
    public async Task VerifyCompletedAsync(string jobType, long expected, CancellationToken ct)
    {
        var completed = await CompletedCountAsync(jobType, ct).ConfigureAwait(false);
        var live = await LiveDueCountAsync(jobType, ct).ConfigureAwait(false);
        if (completed != expected || live != 0)
        {
            throw new BenchCheckException($"{Name}: expected {expected} completed '{jobType}' jobs and none live; found {completed} completed, {live} live.");
        }
    }

    /// <summary>
    /// Inserts <paramref name="count"/> scheduled jobs due in a day by direct SQL (one INSERT … SELECT
    /// generate_series per chunk into jobs and job_executions; no history rows), for the scale setup.
    /// </summary>
    public async Task InsertFutureJobsAsync(string jobType, int count, CancellationToken ct)
    {
        const int chunk = 250_000;
        for (var done = 0; done < count; done += chunk)
        {
            var n = Math.Min(chunk, count - done);
            await using var cmd = DataSource.CreateCommand("""
                WITH input AS (
                    SELECT gen_random_uuid() AS id, now() + interval '1 day' + g * interval '1 ms' AS execute_at
                    FROM generate_series(1, @n) AS g
                ), j AS (
                    INSERT INTO jobs (id, job_type, config, created_at)
                    SELECT id, @t, '{}'::jsonb, now() FROM input
                )
                INSERT INTO job_executions (id, job_type, state, execute_at, created_at)
                SELECT id, @t, 'scheduled', execute_at, now() FROM input
                """);
            cmd.CommandTimeout = 600;
            cmd.Parameters.AddWithValue("n", n);
            cmd.Parameters.AddWithValue("t", jobType);
            await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }
    }

    /// <summary>Deletes the jobs <see cref="InsertFutureJobsAsync"/> inserted (their queue rows go by cascade).</summary>
    public async Task DeleteFutureJobsAsync(CancellationToken ct)
    {
        await using var cmd = DataSource.CreateCommand(
            "DELETE FROM jobs WHERE id IN (SELECT id FROM job_executions WHERE execute_at > now() + interval '1 hour')");
        cmd.CommandTimeout = 600;
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    /// <summary>VACUUM ANALYZE of the job tables, after a bulk change.</summary>
    public async Task VacuumAnalyzeAsync(CancellationToken ct)
    {
        foreach (var table in new[] { "jobs", "job_executions" })
        {
            await using var analyze = DataSource.CreateCommand($"VACUUM ANALYZE {table}");
            analyze.CommandTimeout = 600;
            await analyze.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await DataSource.DisposeAsync().ConfigureAwait(false);
    }
}

/// <summary>A correctness check of the harness failed (not a timing: those are never asserted).</summary>
public sealed class BenchCheckException : Exception
{
    public BenchCheckException() { }
    public BenchCheckException(string message) : base(message) { }
    public BenchCheckException(string message, Exception inner) : base(message, inner) { }
}
