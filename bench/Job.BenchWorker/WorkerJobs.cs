using Npgsql;

namespace Job.BenchWorker;

/// <summary>The job types, table and config records the worker and the bench (the spawning
/// application) share.</summary>
public static class WorkerJobTypes
{
    /// <summary>Completes at once; the worker counts its runs in memory (nothing written).</summary>
    public const string Noop = "bench.noop";

    /// <summary>Records its start in <see cref="StartsTable"/>, then completes.</summary>
    public const string RecordStart = "bench.start";

    /// <summary>The generated tenant types are this prefix and 0 … N-1.</summary>
    public const string TenantPrefix = "tenant-";

    /// <summary>One row per run of <see cref="RecordStart"/>: the worker's UTC wall clock when the run
    /// began (<c>started_at</c>) and the database's <c>clock_timestamp()</c> when the row was written
    /// (<c>db_at</c>).</summary>
    public const string StartsTable = "bench_starts";

    public const string CreateStartsTable = $"""
        CREATE TABLE IF NOT EXISTS {StartsTable} (
            job_id     uuid NOT NULL,
            attempt    int NOT NULL,
            started_at timestamptz NOT NULL,
            db_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
            PRIMARY KEY (job_id, attempt))
        """;

    public static string Tenant(int i) => TenantPrefix + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>The config of <see cref="WorkerJobTypes.Noop"/> jobs (empty).</summary>
public sealed record NoopConfig;

/// <summary>The config of <see cref="WorkerJobTypes.RecordStart"/> jobs (empty: the spawner keeps its own
/// spawn timestamps by job id).</summary>
public sealed record RecordStartConfig;

/// <summary>The config of the generated tenant types (empty).</summary>
public sealed record TenantConfig;

/// <summary>What this worker ran, counted in memory (a few interlocked operations per run).</summary>
public sealed class RunCounters
{
    private long _noop;
    private long _recordStart;
    private long _tenant;
    private long _firstRunTicks;
    private long _lastRunTicks;

    public long Noop => Interlocked.Read(ref _noop);
    public long RecordStart => Interlocked.Read(ref _recordStart);
    public long Tenant => Interlocked.Read(ref _tenant);
    public long Total => Noop + RecordStart + Tenant;

    /// <summary>UTC wall clock of this worker's first run of any type, if any.</summary>
    public DateTime? FirstRunUtc => Ticks(ref _firstRunTicks);

    /// <summary>UTC wall clock of this worker's latest run start.</summary>
    public DateTime? LastRunUtc => Ticks(ref _lastRunTicks);

    public void RanNoop() => Ran(ref _noop);
    public void RanRecordStart() => Ran(ref _recordStart);
    public void RanTenant() => Ran(ref _tenant);

    private void Ran(ref long counter)
    {
        var now = DateTime.UtcNow.Ticks;
        Interlocked.CompareExchange(ref _firstRunTicks, now, 0);
        Volatile.Write(ref _lastRunTicks, now);
        Interlocked.Increment(ref counter);
    }

    private static DateTime? Ticks(ref long field)
    {
        var t = Interlocked.Read(ref field);
        return t == 0 ? null : new DateTime(t, DateTimeKind.Utc);
    }
}

/// <summary><see cref="WorkerJobTypes.Noop"/>: counts the run and completes.</summary>
public sealed class NoopJob(RunCounters counters) : IJobInitializer<NoopConfig>
{
    public JobType JobType { get; } = new(WorkerJobTypes.Noop);

    public IJobRunner Init(Job job, JobSpawner<NoopConfig> spawner) => new Runner(counters);

    private sealed class Runner(RunCounters counters) : IJobRunner
    {
        private static readonly Task<JobCompletion> s_complete = Task.FromResult(JobCompletion.Complete());

        public Task<JobCompletion> RunAsync(CurrentJob currentJob, CancellationToken cancellationToken)
        {
            counters.RanNoop();
            return s_complete;
        }
    }
}

/// <summary>
/// <see cref="WorkerJobTypes.RecordStart"/>: takes the UTC wall clock first thing in its run, writes it
/// (with the database's <c>clock_timestamp()</c>) to <see cref="WorkerJobTypes.StartsTable"/> in its own
/// autocommit statement, and completes. The write comes after the timestamp, so it is not measured.
/// </summary>
public sealed class RecordStartJob(RunCounters counters) : IJobInitializer<RecordStartConfig>
{
    public JobType JobType { get; } = new(WorkerJobTypes.RecordStart);

    public IJobRunner Init(Job job, JobSpawner<RecordStartConfig> spawner) => new Runner(counters);

    private sealed class Runner(RunCounters counters) : IJobRunner
    {
        public async Task<JobCompletion> RunAsync(CurrentJob currentJob, CancellationToken cancellationToken)
        {
            var startedAt = DateTime.UtcNow;
            counters.RanRecordStart();
            await using var insert = currentJob.DataSource.CreateCommand(
                $"INSERT INTO {WorkerJobTypes.StartsTable} (job_id, attempt, started_at) VALUES (@id, @attempt, @started) ON CONFLICT DO NOTHING");
            insert.Parameters.AddWithValue("id", currentJob.Id.Value);
            insert.Parameters.AddWithValue("attempt", currentJob.Attempt);
            insert.Parameters.AddWithValue("started", startedAt);
            await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            return JobCompletion.Complete();
        }
    }
}

/// <summary>A generated tenant type: counts the run and completes.</summary>
public sealed class TenantJob(JobType jobType, RunCounters counters) : IJobInitializer<TenantConfig>
{
    public JobType JobType { get; } = jobType;

    public IJobRunner Init(Job job, JobSpawner<TenantConfig> spawner) => new Runner(counters);

    private sealed class Runner(RunCounters counters) : IJobRunner
    {
        public Task<JobCompletion> RunAsync(CurrentJob currentJob, CancellationToken cancellationToken)
        {
            counters.RanTenant();
            return Task.FromResult(JobCompletion.Complete());
        }
    }
}

/// <summary>Creates <see cref="WorkerJobTypes.StartsTable"/> when missing (two workers may race: the loser's
/// error is the table being there already).</summary>
public static class StartsTable
{
    public static async Task EnsureAsync(string connectionString, CancellationToken ct)
    {
        await using var ds = NpgsqlDataSource.Create(connectionString);
        await using var cmd = ds.CreateCommand(WorkerJobTypes.CreateStartsTable);
        try
        {
            await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }
        catch (PostgresException ex) when (ex.SqlState is PostgresErrorCodes.UniqueViolation or PostgresErrorCodes.DuplicateTable)
        {
        }
    }
}
