using Microsoft.Extensions.Logging;

namespace Job.Silo.Samples;

/// <summary>The config of a <c>demo.flaky</c> job.</summary>
/// <param name="Failures">How many attempts fail before one succeeds.</param>
public sealed record FlakyConfig(int Failures = 2);

/// <summary>
/// <c>demo.flaky</c>: its first attempts fail (two by default), then it completes; shows retries with
/// exponential backoff starting at 1 s.
/// </summary>
public sealed partial class FlakyJob(ILogger<FlakyJob> logger) : IJobInitializer<FlakyConfig>
{
    /// <summary>The type name.</summary>
    public static readonly JobType Type = new("demo.flaky");

    /// <inheritdoc />
    public JobType JobType => Type;

    /// <inheritdoc />
    public RetrySettings RetryOnErrorSettings { get; } = new() { NAttempts = 5, MinBackoff = TimeSpan.FromSeconds(1) };

    /// <inheritdoc />
    public IJobRunner Init(Job job, JobSpawner<FlakyConfig> spawner) => new Runner(this, job.Config<FlakyConfig>());

    [LoggerMessage(Level = LogLevel.Information, Message = "demo.flaky {JobId}: attempt {Attempt} succeeded.")]
    private partial void LogSucceeded(JobId jobId, int attempt);

    private sealed class Runner(FlakyJob owner, FlakyConfig config) : IJobRunner
    {
        public Task<JobCompletion> RunAsync(CurrentJob currentJob, CancellationToken cancellationToken)
        {
            if (currentJob.Attempt <= config.Failures)
            {
                throw new InvalidOperationException($"demo.flaky: attempt {currentJob.Attempt} fails on purpose ({config.Failures} failures configured).");
            }

            owner.LogSucceeded(currentJob.Id, currentJob.Attempt);
            return Task.FromResult(JobCompletion.Complete());
        }
    }
}
