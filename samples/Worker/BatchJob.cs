using Job;

namespace Worker;

/// <summary>The config of a <c>sample.batch</c> job: what to process. Stored with the job as JSON.</summary>
/// <param name="Name">The batch's name, for the log.</param>
/// <param name="Items">How many items it has.</param>
public sealed record BatchConfig(string Name, int Items = 5);

/// <summary>
/// <c>sample.batch</c>, the template for a job type: processes a batch item by item and records its
/// progress in the job's execution state, so a run that is retried, handed back at shutdown or rescued
/// after a crash resumes where it stopped instead of starting over.
/// </summary>
public sealed partial class BatchJob(ILogger<BatchJob> logger) : IJobInitializer<BatchConfig>
{
    /// <summary>The type's name: every worker that registers it may run its jobs.</summary>
    public static readonly JobType Type = new("sample.batch");

    /// <inheritdoc />
    public JobType JobType => Type;

    /// <summary>Five runs in all, 1 s after the first failure, doubling up to a minute.</summary>
    public RetrySettings RetryOnErrorSettings { get; } = new()
    {
        NAttempts = 5,
        MinBackoff = TimeSpan.FromSeconds(1),
        MaxBackoff = TimeSpan.FromMinutes(1),
    };

    /// <inheritdoc />
    public IJobRunner Init(Job.Job job, JobSpawner<BatchConfig> spawner) => new Runner(this, job.Config<BatchConfig>());

    [LoggerMessage(Level = LogLevel.Information, Message = "sample.batch {JobId}: {Name} done ({Items} items, attempt {Attempt}).")]
    private partial void LogDone(JobId jobId, string name, int items, int attempt);

    private sealed class Runner(BatchJob owner, BatchConfig config) : IJobRunner
    {
        public async Task<JobCompletion> RunAsync(CurrentJob currentJob, CancellationToken cancellationToken)
        {
            var done = currentJob.ExecutionState<int>();
            for (var item = done; item < config.Items; item++)
            {
                // The token is cancelled when the worker shuts down: stop between items, and the job is
                // handed back to another worker, which resumes from the checkpoint below.
                await ProcessAsync(item, cancellationToken).ConfigureAwait(false);
                await currentJob.UpdateExecutionStateAsync(item + 1, cancellationToken).ConfigureAwait(false);
            }

            owner.LogDone(currentJob.Id, config.Name, config.Items, currentJob.Attempt);
            return JobCompletion.Complete();
        }

        // Stands in for the real work (a call to another service, a file to convert, ...).
        private static Task ProcessAsync(int item, CancellationToken cancellationToken) =>
            Task.Delay(TimeSpan.FromMilliseconds(20 + (item % 5 * 10)), cancellationToken);
    }
}
