namespace Job.TestSilo;

/// <summary>
/// <c>crash.limited</c>: records its start like <c>crash.work</c>, runs its duration, completes. Its
/// cluster-wide concurrency limit is declared at registration (<c>AddJobInitializer(limits =&gt; …)</c>).
/// </summary>
public sealed class CrashLimitedJob(ILocalSiloDetails silo) : IJobInitializer<CrashConfig>
{
    /// <summary>At most this many run at once across the cluster.</summary>
    public const int MaxRunning = 3;

    public JobType JobType { get; } = new("crash.limited");

    public RetrySettings RetryOnErrorSettings => TestRuns.QuickRetries;

    public IJobRunner Init(Job job, JobSpawner<CrashConfig> spawner) =>
        new TimedRun(job.Config<CrashConfig>() ?? new CrashConfig(), silo.SiloAddress.ToParsableString());
}

/// <summary>
/// <c>crash.rated</c>: as <c>crash.limited</c>, with a cluster-wide rate limit declared by the
/// initializer itself (<see cref="IJobInitializer{TConfig}.Limits"/>).
/// </summary>
public sealed class CrashRatedJob(ILocalSiloDetails silo) : IJobInitializer<CrashConfig>
{
    /// <summary>At most this many starts per <see cref="Period"/> across the cluster.</summary>
    public const int Starts = 10;

    public static readonly TimeSpan Period = TimeSpan.FromSeconds(1);

    public JobType JobType { get; } = new("crash.rated");

    public RetrySettings RetryOnErrorSettings => TestRuns.QuickRetries;

    public JobTypeLimits Limits { get; } = new() { RateLimit = new JobRateLimit(Starts, Period) };

    public IJobRunner Init(Job job, JobSpawner<CrashConfig> spawner) =>
        new TimedRun(job.Config<CrashConfig>() ?? new CrashConfig(), silo.SiloAddress.ToParsableString());
}

/// <summary>A run that records its start in <c>test_runs</c>, sleeps its duration (deaf to shutdown) and stamps its end.</summary>
internal sealed class TimedRun(CrashConfig config, string silo) : IJobRunner
{
    public async Task<JobCompletion> RunAsync(CurrentJob currentJob, CancellationToken cancellationToken)
    {
        await TestRuns.RecordStartAsync(currentJob, silo).ConfigureAwait(false);
        if (config.DurationMs > 0)
        {
            await Task.Delay(config.DurationMs, CancellationToken.None).ConfigureAwait(false);
        }

        await TestRuns.RecordEndAsync(currentJob, silo).ConfigureAwait(false);
        return JobCompletion.Complete();
    }
}

/// <summary>The schedules a test silo declares with <c>JOB_TEST_SCHEDULES=1</c>: they spawn <c>crash.work</c>.</summary>
public static class TestSchedules
{
    /// <summary>Every two seconds; overlapping runs allowed.</summary>
    public static readonly JobScheduleSpec<CrashConfig> EveryTwoSeconds =
        new("chaos-every-2s", new JobType("crash.work"), "*/2 * * * * *", new CrashConfig(DurationMs: 100))
        {
            Overlap = JobOverlapPolicy.Allow,
            MisfireThreshold = TimeSpan.FromMinutes(2),
        };

    /// <summary>Every three seconds; each tick's job waits for the previous one (serial queue).</summary>
    public static readonly JobScheduleSpec<CrashConfig> QueuedEveryThreeSeconds =
        new("chaos-queued-3s", new JobType("crash.work"), "*/3 * * * * *", new CrashConfig(DurationMs: 300))
        {
            Overlap = JobOverlapPolicy.Queue,
            MisfireThreshold = TimeSpan.FromMinutes(2),
        };
}
