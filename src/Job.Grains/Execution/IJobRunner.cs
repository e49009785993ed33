namespace Job;

/// <summary>
/// Does the work of one run of a job. A new runner is built by the initializer for every run, so it
/// may hold per-run state. Throwing is a failed attempt, retried per the type's <see cref="RetrySettings"/>.
/// </summary>
public interface IJobRunner
{
    /// <summary>Runs the job once.</summary>
    /// <param name="currentJob">The run's context: attempt, checkpoint state, database, clock.</param>
    /// <param name="cancellationToken">Signalled when the silo shuts down; stop early and return a
    /// reschedule, or let the runtime hand the job to another silo after the shutdown timeout.</param>
    /// <returns>How the run ended: complete, or run again later.</returns>
    Task<JobCompletion> RunAsync(CurrentJob currentJob, CancellationToken cancellationToken);
}
