using System.Collections.Concurrent;
using System.Diagnostics;

namespace Job.Bench;

/// <summary>The config of a benchmark job: when it was spawned (Stopwatch timestamp) and, for
/// scheduled jobs, when it was due.</summary>
public sealed record BenchConfig(long SpawnTimestamp = 0, DateTimeOffset? DueAt = null);

/// <summary>One observed run start.</summary>
public readonly record struct RunStart(JobId Id, long StartTimestamp, DateTimeOffset StartUtc, BenchConfig Config);

/// <summary>
/// Records every run start of the no-op bench job type, shared by all silos of the process, so a
/// workload can wait for "N runs started" without polling the database.
/// </summary>
public sealed class RunProbe
{
    private readonly ConcurrentQueue<RunStart> _starts = new();
    private readonly Lock _gate = new();
    private long _count;
    private long _target = long.MaxValue;
    private TaskCompletionSource _reached = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Whether to keep each start (latency workloads) or only count them (throughput).</summary>
    public bool KeepStarts { get; set; }

    public long Count => Interlocked.Read(ref _count);

    public IReadOnlyCollection<RunStart> Starts => _starts;

    public void Record(JobId id, BenchConfig config)
    {
        var ts = Stopwatch.GetTimestamp();
        if (KeepStarts)
        {
            _starts.Enqueue(new RunStart(id, ts, DateTimeOffset.UtcNow, config));
        }

        if (Interlocked.Increment(ref _count) == Interlocked.Read(ref _target))
        {
            lock (_gate)
            {
                _reached.TrySetResult();
            }
        }
    }

    /// <summary>Resets the counter and the kept starts.</summary>
    public void Reset()
    {
        lock (_gate)
        {
            _starts.Clear();
            Interlocked.Exchange(ref _count, 0);
            Interlocked.Exchange(ref _target, long.MaxValue);
            _reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }

    /// <summary>Waits until <paramref name="target"/> runs have started since the last reset.</summary>
    /// <exception cref="TimeoutException">Fewer started within <paramref name="timeout"/>.</exception>
    public async Task WaitForAsync(long target, TimeSpan timeout, CancellationToken ct)
    {
        Task reached;
        lock (_gate)
        {
            Interlocked.Exchange(ref _target, target);
            if (Count >= target)
            {
                _reached.TrySetResult();
            }

            reached = _reached.Task;
        }

        try
        {
            await reached.WaitAsync(timeout, ct).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"Only {Count} of {target} runs started within {timeout.TotalSeconds:0} s.");
        }
    }
}

/// <summary>The no-op job type: records its start and completes.</summary>
public sealed class BenchInitializer(RunProbe probe, string jobType = BenchInitializer.DefaultType) : IJobInitializer<BenchConfig>
{
    public const string DefaultType = "bench.noop";

    public JobType JobType { get; } = new(jobType);

    public IJobRunner Init(Job job, JobSpawner<BenchConfig> spawner)
    {
        ArgumentNullException.ThrowIfNull(job);
        return new Runner(probe, job.Config<BenchConfig>() ?? new BenchConfig());
    }

    private sealed class Runner(RunProbe probe, BenchConfig config) : IJobRunner
    {
        private static readonly Task<JobCompletion> s_complete = Task.FromResult(JobCompletion.Complete());

        public Task<JobCompletion> RunAsync(CurrentJob currentJob, CancellationToken cancellationToken)
        {
            probe.Record(currentJob.Id, config);
            return s_complete;
        }
    }
}
