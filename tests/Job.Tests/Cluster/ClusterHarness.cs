using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using Job.Hosting;
using Job.TestSilo;
using Npgsql;
using Xunit.Abstractions;

namespace Job.Tests.Cluster;

/// <summary>All crash tests share one collection that runs alone: separate silo processes on a
/// 2-core machine must not compete with other test classes for CPU, or membership sees false deaths.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ClusterCollection
{
    public const string Name = "Cluster";
}

/// <summary>
/// One crash test's cluster: a database (migrated, with <c>test_runs</c>), a fresh cluster id,
/// silo processes with a log file each, a spawner that needs no silo in the test process, and the
/// queries the assertions use. Disposing kills every process it started.
/// </summary>
internal sealed class ClusterHarness : IAsyncDisposable
{
    public const int SiloStatusActive = 3;
    public const int SiloStatusDead = 6;
    public static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(60);

    private readonly List<SiloProcess> _silos = [];
    private readonly JobRuntime _runtime;
    private readonly ITestOutputHelper _output;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private int _next;

    private ClusterHarness(string connectionString, ITestOutputHelper output, string testName)
    {
        ConnectionString = connectionString;
        _output = output;
        ClusterId = "crash-" + Guid.NewGuid().ToString("N")[..12];
        LogDirectory = Path.Combine(AppContext.BaseDirectory, "cluster-logs", $"{DateTime.UtcNow:yyyyMMdd-HHmmss}-{testName}");
        Directory.CreateDirectory(LogDirectory);
        _runtime = new JobRuntime(new JobsOptions { ConnectionString = connectionString });
        Work = new JobSpawner<CrashConfig>(new JobType("crash.work"), _runtime.Context);
        Block = new JobSpawner<BlockConfig>(new JobType("crash.block"), _runtime.Context);
    }

    public string ConnectionString { get; }

    /// <summary>The runtime the harness spawns and reads with (no silo in the test process).</summary>
    public JobRuntime Runtime => _runtime;

    public string ClusterId { get; }

    public string LogDirectory { get; }

    /// <summary>Spawns <c>crash.work</c> straight into the database (no silo in the test process).</summary>
    public JobSpawner<CrashConfig> Work { get; }

    public JobSpawner<BlockConfig> Block { get; }

    public IReadOnlyList<SiloProcess> Silos => _silos;

    public static async Task<ClusterHarness> CreateAsync(string connectionString, ITestOutputHelper output, [CallerMemberName] string testName = "")
    {
        var harness = new ClusterHarness(connectionString, output, testName);
        await JobMigrations.RunAsync(harness._runtime.DataSource).ConfigureAwait(false);
        await harness.ExecuteAsync("""
            CREATE TABLE IF NOT EXISTS test_runs (
                job_id uuid NOT NULL, attempt int NOT NULL, silo text NOT NULL,
                started_at timestamptz NOT NULL DEFAULT now(), finished_at timestamptz);
            CREATE TABLE IF NOT EXISTS test_release (job_id uuid PRIMARY KEY);
            """).ConfigureAwait(false);
        harness.Log($"cluster {harness.ClusterId}, logs in {harness.LogDirectory}");
        return harness;
    }

    /// <summary>Logs to the test output with the time since the test started.</summary>
    public void Log(string message)
    {
        var line = string.Create(CultureInfo.InvariantCulture, $"[{_clock.Elapsed.TotalSeconds,7:F2}s] {message}");
        try
        {
            _output.WriteLine(line);
        }
        catch (InvalidOperationException)
        {
            // The test already ended (a late background log).
        }

        File.AppendAllText(Path.Combine(LogDirectory, "test.log"), line + Environment.NewLine);
    }

    /// <summary>Starts a test silo; <paramref name="commandPrefix"/> runs it through another command
    /// (<c>ip netns exec ns1</c>).</summary>
    public SiloProcess StartSilo(IReadOnlyDictionary<string, string>? settings = null, string? label = null, IReadOnlyList<string>? commandPrefix = null)
    {
        label ??= "silo" + Interlocked.Increment(ref _next).ToString(CultureInfo.InvariantCulture);
        var env = new Dictionary<string, string>
        {
            ["JOB_TEST_CS"] = ConnectionString,
            ["JOB_TEST_CLUSTER"] = ClusterId,
        };
        foreach (var (k, v) in settings ?? new Dictionary<string, string>())
        {
            env[k] = v;
        }

        var silo = SiloProcess.Start(label, Path.Combine(LogDirectory, label + ".log"), env, commandPrefix);
        lock (_silos)
        {
            _silos.Add(silo);
        }

        return silo;
    }

    public async Task<SiloProcess> StartSiloReadyAsync(IReadOnlyDictionary<string, string>? settings = null, string? label = null, IReadOnlyList<string>? commandPrefix = null)
    {
        var started = Stopwatch.StartNew();
        var silo = StartSilo(settings, label, commandPrefix);
        var address = await silo.WaitReadyAsync(ReadyTimeout).ConfigureAwait(false);
        Log($"{silo.Label} (pid {silo.Pid}) ready as {address} after {started.Elapsed.TotalSeconds:F1}s");
        return silo;
    }

    public async Task<JobId[]> SpawnWorkAsync(int count, Func<int, CrashConfig> config)
    {
        var ids = new JobId[count];
        for (var offset = 0; offset < count; offset += 1000)
        {
            var specs = Enumerable.Range(offset, Math.Min(1000, count - offset))
                .Select(i => new JobSpec<CrashConfig>(ids[i] = JobId.New(), config(i)))
                .ToList();
            await Work.SpawnAllAsync(specs).ConfigureAwait(false);
        }

        return ids;
    }

    public async Task<T> ScalarAsync<T>(string sql, params (string Name, object Value)[] parameters)
    {
        await using var cmd = Command(sql, parameters);
        var value = await cmd.ExecuteScalarAsync().ConfigureAwait(false);
        return value is null or DBNull
            ? default!
            : (T)Convert.ChangeType(value, Nullable.GetUnderlyingType(typeof(T)) ?? typeof(T), CultureInfo.InvariantCulture);
    }

    public async Task ExecuteAsync(string sql, params (string Name, object Value)[] parameters)
    {
        await using var cmd = Command(sql, parameters);
        await cmd.ExecuteNonQueryAsync().ConfigureAwait(false);
    }

    public async Task<List<object?[]>> RowsAsync(string sql, params (string Name, object Value)[] parameters)
    {
        await using var cmd = Command(sql, parameters);
        await using var reader = await cmd.ExecuteReaderAsync().ConfigureAwait(false);
        var rows = new List<object?[]>();
        while (await reader.ReadAsync().ConfigureAwait(false))
        {
            var row = new object?[reader.FieldCount];
            for (var i = 0; i < row.Length; i++)
            {
                row[i] = reader.IsDBNull(i) ? null : reader.GetValue(i);
            }

            rows.Add(row);
        }

        return rows;
    }

    private NpgsqlCommand Command(string sql, (string Name, object Value)[] parameters)
    {
        var cmd = _runtime.DataSource.CreateCommand(sql);
        foreach (var (name, value) in parameters)
        {
            cmd.Parameters.AddWithValue(name, value);
        }

        return cmd;
    }

    /// <summary>The membership status of a silo, by the address it printed (host:port@generation).</summary>
    /// <summary>The silo as the admin API (the dashboard's Silos page, the CLI) reports it.</summary>
    public async Task<JobSiloInfo> SiloInfoAsync(string siloAddress)
    {
        await using var client = JobClient.Create(new JobClientOptions { ConnectionString = ConnectionString });
        return (await client.Admin.SilosAsync().ConfigureAwait(false)).Single(s => s.Address == siloAddress);
    }

    public async Task<int?> MembershipStatusAsync(string siloAddress)
    {
        var (host, port, generation) = ParseAddress(siloAddress);
        var rows = await RowsAsync(
            "SELECT status FROM orleans_membership WHERE deployment_id = @c AND address = @a AND port = @p AND generation = @g",
            ("c", ClusterId), ("a", host), ("p", port), ("g", generation)).ConfigureAwait(false);
        return rows.Count == 0 ? null : Convert.ToInt32(rows[0][0], CultureInfo.InvariantCulture);
    }

    public static (string Host, int Port, int Generation) ParseAddress(string siloAddress)
    {
        var at = siloAddress.LastIndexOf('@');
        var colon = siloAddress.LastIndexOf(':', at);
        return (siloAddress[..colon],
            int.Parse(siloAddress[(colon + 1)..at], CultureInfo.InvariantCulture),
            int.Parse(siloAddress[(at + 1)..], CultureInfo.InvariantCulture));
    }

    /// <summary>Polls <paramref name="probe"/> until it holds or the timeout passes; returns whether it held.</summary>
    public static async Task<bool> EventuallyAsync(Func<Task<bool>> probe, TimeSpan timeout, TimeSpan? every = null)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                if (await probe().ConfigureAwait(false))
                {
                    return true;
                }
            }
            catch (NpgsqlException) when (deadline.Elapsed < timeout)
            {
                // The database may be restarting.
            }

            if (deadline.Elapsed >= timeout)
            {
                return false;
            }

            await Task.Delay(every ?? TimeSpan.FromMilliseconds(200)).ConfigureAwait(false);
        }
    }

    /// <summary>The end-state invariants every crash test checks for the given jobs.</summary>
    public async Task<EndState> EndStateAsync()
    {
        var rows = await RowsAsync("""
            SELECT
              (SELECT count(*) FROM jobs),
              (SELECT count(*) FROM jobs WHERE terminal_state = 'completed'),
              (SELECT count(*) FROM jobs WHERE terminal_state IS DISTINCT FROM 'completed'),
              (SELECT count(*) FROM job_executions),
              (SELECT count(*) FROM job_events WHERE event_type = 'job_completed'),
              (SELECT count(*) FROM (SELECT job_id FROM job_events WHERE event_type = 'job_completed' GROUP BY job_id HAVING count(*) > 1) d),
              (SELECT count(*) FROM test_runs),
              (SELECT count(DISTINCT job_id) FROM test_runs),
              (SELECT count(*) FROM job_events WHERE event_type = 'silo_lost'),
              (SELECT count(*) FROM job_events WHERE event_type = 'job_lost'),
              (SELECT count(*) FROM job_events WHERE event_type = 'execution_aborted'),
              (SELECT count(*) FROM job_events WHERE event_type = 'execution_errored')
            """).ConfigureAwait(false);
        var r = rows[0].Select(v => Convert.ToInt64(v, CultureInfo.InvariantCulture)).ToArray();
        return new EndState(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11]);
    }

    public async Task<bool> AllCompletedAsync(long expected) =>
        await ScalarAsync<long>("SELECT count(*) FROM jobs WHERE terminal_state = 'completed'").ConfigureAwait(false) >= expected;

    public async ValueTask DisposeAsync()
    {
        List<SiloProcess> silos;
        lock (_silos)
        {
            silos = [.. _silos];
        }

        await Task.WhenAll(silos.Select(s => s.DisposeAsync().AsTask())).ConfigureAwait(false);
        await _runtime.DisposeAsync().ConfigureAwait(false);
    }
}

internal sealed record EndState(
    long Jobs, long Completed, long NotCompleted, long LiveExecutions, long JobCompletedEvents,
    long JobsCompletedTwice, long Runs, long JobsRun, long SiloLostEvents, long JobLostEvents,
    long AbortedEvents, long FailedEvents)
{
    public long RepeatedRuns => Runs - JobsRun;

    public override string ToString() =>
        $"jobs={Jobs} completed={Completed} notCompleted={NotCompleted} liveExecutions={LiveExecutions} job_completed={JobCompletedEvents} " +
        $"completedTwice={JobsCompletedTwice} runs={Runs} jobsRun={JobsRun} repeatedRuns={RepeatedRuns} silo_lost={SiloLostEvents} " +
        $"job_lost={JobLostEvents} execution_aborted={AbortedEvents} execution_errored={FailedEvents}";
}
