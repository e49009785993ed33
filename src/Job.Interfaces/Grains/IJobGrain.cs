namespace Job;

/// <summary>
/// One job, addressed by its id from anywhere in the cluster or from an Orleans client. Orleans keeps
/// a single activation per job, so status, await and cancel calls meet the run itself.
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

    /// <summary>Cancels the job if it is pending. A running or finished job is left alone.</summary>
    /// <returns>True when this call cancelled it.</returns>
    Task<bool> CancelAsync();

    /// <summary>The job's history, oldest first.</summary>
    Task<IReadOnlyList<JobEvent>> GetHistoryAsync();
}
