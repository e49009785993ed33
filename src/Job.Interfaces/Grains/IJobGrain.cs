namespace Job;

/// <summary>
/// One job, addressed by its id from anywhere in the cluster or from an Orleans client: its status,
/// history, an await that returns the moment it ends (woken by the database's notification), and
/// cancel. The database is the truth; the grain holds no job state.
/// </summary>
public interface IJobGrain : IGrainWithGuidKey
{
    /// <summary>The job's current state, read from the database.</summary>
    /// <exception cref="JobNotFoundException">No job has this id.</exception>
    Task<JobSnapshot> GetSnapshotAsync();

    /// <summary>Waits until the job is terminal, for at most <paramref name="timeout"/>.</summary>
    /// <exception cref="JobAwaitTimeoutException">It did not end in time.</exception>
    /// <exception cref="JobNotFoundException">No job has this id.</exception>
    [ResponseTimeout("1.00:00:00")]
    Task<JobSnapshot> AwaitCompletionAsync(TimeSpan timeout);

    /// <summary>Cancels the job: a job that waits ends cancelled at once; a running one is asked to
    /// stop (its runner's token fires; it ends cancelled when the run returns). A finished job is left alone.</summary>
    /// <returns>True when the job ended cancelled or its cancel was requested; false when it had already finished.</returns>
    Task<bool> CancelAsync();

    /// <summary>The job's history, oldest first.</summary>
    Task<IReadOnlyList<JobEvent>> GetHistoryAsync();
}
