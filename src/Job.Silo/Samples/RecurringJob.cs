using Microsoft.Extensions.Logging;

namespace Job.Silo.Samples;

/// <summary>The config of a <c>demo.recurring</c> job.</summary>
/// <param name="IntervalSeconds">Seconds between runs.</param>
public sealed record RecurringConfig(int IntervalSeconds = 10);

/// <summary>The checkpoint of a <c>demo.recurring</c> job: how many times it has run.</summary>
/// <param name="Runs">Completed runs so far.</param>
public sealed record RecurringState(int Runs);

/// <summary>
/// <c>demo.recurring</c>: runs forever, rescheduling itself every 10 s (by default) and counting its
/// runs in its execution state, which survives reschedules, retries and silo failures.
/// </summary>
public sealed partial class RecurringJob(ILogger<RecurringJob> logger) : IJobInitializer<RecurringConfig>
{
    /// <summary>The type name.</summary>
    public static readonly JobType Type = new("demo.recurring");

    /// <summary>The id of the one demo.recurring job the demo spawns (a fixed id keeps it to one).</summary>
    public static readonly JobId DemoJobId = new(Guid.Parse("0196a4c1-0000-7000-8000-00000000d3e0"));

    /// <inheritdoc />
    public JobType JobType => Type;

    /// <inheritdoc />
    public RetrySettings RetryOnErrorSettings { get; } = RetrySettings.RepeatIndefinitely();

    /// <inheritdoc />
    public IJobRunner Init(Job job, JobSpawner<RecurringConfig> spawner) => new Runner(this, job.Config<RecurringConfig>());

    [LoggerMessage(Level = LogLevel.Information, Message = "demo.recurring {JobId}: run {Runs}; next in {IntervalSeconds} s.")]
    private partial void LogRun(JobId jobId, int runs, int intervalSeconds);

    private sealed class Runner(RecurringJob owner, RecurringConfig config) : IJobRunner
    {
        public async Task<JobCompletion> RunAsync(CurrentJob currentJob, CancellationToken cancellationToken)
        {
            var runs = (currentJob.ExecutionState<RecurringState>()?.Runs ?? 0) + 1;
            await currentJob.UpdateExecutionStateAsync(new RecurringState(runs), cancellationToken).ConfigureAwait(false);
            var interval = Math.Max(config.IntervalSeconds, 1);
            owner.LogRun(currentJob.Id, runs, interval);
            return JobCompletion.RescheduleIn(TimeSpan.FromSeconds(interval));
        }
    }
}
