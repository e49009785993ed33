namespace Job.Bench.Infrastructure;

/// <summary>
/// One or more in-process silos (<see cref="Jobs"/> instances) on one database, forming one Orleans
/// cluster, each running the no-op bench type. Spawns go through the first silo's spawner.
/// </summary>
public sealed class SiloCluster : IAsyncDisposable
{
    private readonly List<Jobs> _silos;
    private readonly ExternalSilo? _external;

    private SiloCluster(List<Jobs> silos, ExternalSilo? external, JobSpawner<BenchConfig> spawner)
    {
        _silos = silos;
        _external = external;
        Spawner = spawner;
    }

    public JobSpawner<BenchConfig> Spawner { get; }

    /// <summary>Whether a silo runs in another process (its runs are not seen by the in-process probe).</summary>
    public bool HasExternalSilo => _external is not null;

    /// <summary>Starts <paramref name="silos"/> silos; with <paramref name="lastInOwnProcess"/> the last one
    /// runs in a child process.</summary>
    public static async Task<SiloCluster> StartAsync(BenchDatabase db, int silos, JobPollerConfig poller, RunProbe probe, CancellationToken ct, bool lastInOwnProcess = false)
    {
        var started = new List<Jobs>();
        JobSpawner<BenchConfig>? spawner = null;
        ExternalSilo? external = null;
        try
        {
            var local = lastInOwnProcess && silos > 1 ? silos - 1 : silos;
            if (local < silos)
            {
                external = await ExternalSilo.StartAsync(db, poller, ct).ConfigureAwait(false);
            }

            for (var i = 0; i < local; i++)
            {
                var config = JobSvcConfig.Builder()
                    .PgCon(db.ConnectionString)
                    .Cluster(db.Name)
                    .PollerConfig(poller)
                    .Build();
                var jobs = await Jobs.InitAsync(config, ct).ConfigureAwait(false);
                started.Add(jobs);
                var s = jobs.AddInitializer(new BenchInitializer(probe));
                spawner ??= s;
            }

            return new SiloCluster(started, external, spawner!);
        }
        catch
        {
            if (external is not null)
            {
                await external.DisposeAsync().ConfigureAwait(false);
            }

            foreach (var jobs in started)
            {
                await jobs.DisposeAsync().ConfigureAwait(false);
            }

            throw;
        }
    }

    public async Task StartPollingAsync(CancellationToken ct)
    {
        foreach (var silo in _silos)
        {
            await silo.StartPollAsync(ct).ConfigureAwait(false);
        }

        if (_external is not null)
        {
            await _external.StartPollingAsync(ct).ConfigureAwait(false);
        }
    }

    /// <summary>Spawns <paramref name="count"/> jobs with <see cref="JobSpawner{T}.SpawnAllAsync(IEnumerable{JobSpec{T}}, CancellationToken)"/>
    /// in batches; returns the elapsed time.</summary>
    public async Task<TimeSpan> SpawnBulkAsync(int count, int batchSize, DateTimeOffset? scheduleAt, CancellationToken ct)
    {
        var start = System.Diagnostics.Stopwatch.GetTimestamp();
        var config = new BenchConfig();
        for (var done = 0; done < count; done += batchSize)
        {
            var n = Math.Min(batchSize, count - done);
            var batch = new JobSpec<BenchConfig>[n];
            for (var i = 0; i < n; i++)
            {
                batch[i] = new JobSpec<BenchConfig>(JobId.New(), config) { ScheduleAt = scheduleAt };
            }

            await Spawner.SpawnAllAsync(batch, ct).ConfigureAwait(false);
        }

        return System.Diagnostics.Stopwatch.GetElapsedTime(start);
    }

    public async ValueTask DisposeAsync()
    {
        // Shut down in parallel: each waits for its own runs, then leaves the cluster.
        var all = _silos.Select(s => s.DisposeAsync().AsTask()).ToList();
        if (_external is not null)
        {
            all.Add(_external.DisposeAsync().AsTask());
        }

        await Task.WhenAll(all).ConfigureAwait(false);
    }
}
