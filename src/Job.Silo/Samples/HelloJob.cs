using Microsoft.Extensions.Logging;

namespace Job.Silo.Samples;

/// <summary>The config of a <c>demo.hello</c> job.</summary>
/// <param name="Name">Who to greet.</param>
public sealed record HelloConfig(string Name = "world");

/// <summary>
/// <c>demo.hello</c>: waits a short random time (10–200 ms), logs a greeting and completes.
/// </summary>
public sealed partial class HelloJob(ILogger<HelloJob> logger) : IJobInitializer<HelloConfig>
{
    /// <summary>The type name.</summary>
    public static readonly JobType Type = new("demo.hello");

    /// <inheritdoc />
    public JobType JobType => Type;

    /// <inheritdoc />
    public IJobRunner Init(Job job, JobSpawner<HelloConfig> spawner) => new Runner(this, job.Config<HelloConfig>());

    [LoggerMessage(Level = LogLevel.Information, Message = "demo.hello {JobId}: hello, {Name} (after {DelayMs} ms).")]
    private partial void LogHello(JobId jobId, string name, int delayMs);

    private sealed class Runner(HelloJob owner, HelloConfig config) : IJobRunner
    {
        public async Task<JobCompletion> RunAsync(CurrentJob currentJob, CancellationToken cancellationToken)
        {
            var delay = Random.Shared.Next(10, 201);
            await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
            owner.LogHello(currentJob.Id, config.Name, delay);
            return JobCompletion.Complete();
        }
    }
}
