namespace Job.Bench.Infrastructure;

/// <summary>
/// One or more in-process silos (<see cref="Jobs"/> instances) on one database, forming one Orleans
/// cluster, each running the no-op bench type. Spawns go through the first silo's spawner.
/// </summary>
public sealed class SiloCluster : IAsyncDisposable
{
    private readonly List<Jobs> _silos;

    private SiloCluster(List<Jobs> silos, JobSpawner<BenchConfig> spawner)
    {
        _silos = silos;
        Spawner = spawner;
    }

    public JobSpawner<BenchConfig> Spawner { get; }

    public int Count => _silos.Count;

    public static async Task<SiloCluster> StartAsync(BenchDatabase db, int silos, JobPollerConfig poller, RunProbe probe, CancellationToken ct)
    {
        var started = new List<Jobs>();
        JobSpawner<BenchConfig>? spawner = null;
        try
        {
            for (var i = 0; i < silos; i++)
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

            return new SiloCluster(started, spawner!);
        }
        catch
        {
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
        await Task.WhenAll(_silos.Select(s => s.DisposeAsync().AsTask())).ConfigureAwait(false);
    }
}
