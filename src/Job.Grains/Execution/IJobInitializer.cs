namespace Job;

/// <summary>
/// Registers a job type and builds its runner for each run. One instance serves the whole process,
/// so keep it stateless or thread-safe; put per-run state in the runner.
/// </summary>
/// <typeparam name="TConfig">The job's configuration, stored as JSON (System.Text.Json).</typeparam>
public interface IJobInitializer<TConfig>
{
    /// <summary>The type this initializer runs. It may be computed (for example one per tenant).</summary>
    JobType JobType { get; }

    /// <summary>How failed runs are retried. The default retries 30 times with exponential backoff.</summary>
    RetrySettings RetryOnErrorSettings => RetrySettings.Default;

    /// <summary>
    /// The type's cluster-wide limits, declared in code: at most so many of its jobs running, or
    /// starting per period, across every silo (enforced by the database where jobs are claimed, so
    /// restarts, rescues and a killed silo never exceed them). Applied when a silo starts; the latest
    /// change wins, so a run-time change (<see cref="JobFlowControl"/>) survives restarts with the same
    /// declaration and a deploy that changes it applies. Default: none.
    /// </summary>
    JobTypeLimits? Limits => null;

    /// <summary>
    /// Builds the runner for one run of <paramref name="job"/>. Called for every run (each claim),
    /// so a changed config or code path takes effect on the next run. Throwing is a failed attempt.
    /// </summary>
    /// <param name="job">The job, with its configuration (see <see cref="Job.Config{T}"/>).</param>
    /// <param name="spawner">A spawner for this same type, so a job can fan out more of its kind.</param>
    IJobRunner Init(Job job, JobSpawner<TConfig> spawner);
}
