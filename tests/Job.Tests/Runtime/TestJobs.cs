using System.Collections.Concurrent;

namespace Job.Tests.Runtime;

public sealed record TestConfig(int Value = 0, string? Tag = null);

/// <summary>
/// A configurable job type for tests: the behaviour of each run comes from a delegate, and every
/// run is recorded so tests can assert what happened.
/// </summary>
public sealed class TestInitializer(string jobType, Func<CurrentJob, TestConfig, CancellationToken, Task<JobCompletion>> run) : IJobInitializer<TestConfig>
{
    public ConcurrentQueue<(JobId Id, int Attempt, DateTimeOffset Now)> Runs { get; } = new();

    public JobType JobType { get; } = new(jobType);

    public RetrySettings RetryOnErrorSettings { get; init; } = RetrySettings.Default;

    public Func<Job, Exception?>? InitFailure { get; init; }

    public IJobRunner Init(Job job, JobSpawner<TestConfig> spawner)
    {
        if (InitFailure?.Invoke(job) is { } failure)
        {
            throw failure;
        }

        return new Runner(this, job.Config<TestConfig>());
    }

    private sealed class Runner(TestInitializer owner, TestConfig config) : IJobRunner
    {
        public Task<JobCompletion> RunAsync(CurrentJob currentJob, CancellationToken cancellationToken)
        {
            owner.Runs.Enqueue((currentJob.Id, currentJob.Attempt, currentJob.Clock.Now));
            return owner._run(currentJob, config, cancellationToken);
        }
    }

    private readonly Func<CurrentJob, TestConfig, CancellationToken, Task<JobCompletion>> _run = run;

    public static TestInitializer Completing(string jobType) =>
        new(jobType, (_, _, _) => Task.FromResult(JobCompletion.Complete()));
}
