namespace Job;

/// <summary>
/// One job, addressed by its id from anywhere in the cluster or from an Orleans client: its status,
/// history, an await that returns the moment it ends (woken by the database's notification), and
/// cancel. The database is the truth; the grain holds no job state. Every method takes the caller's
/// <see cref="CancellationToken"/>: Orleans carries its cancellation to the silo, so an await the caller
/// gave up on stops waiting there too. Typed helpers over it: <see cref="JobGrainFactoryExtensions"/>.
/// </summary>
public interface IJobGrain : IGrainWithGuidKey
{
    /// <summary>The job's current state, read from the database.</summary>
    /// <exception cref="JobNotFoundException">No job has this id.</exception>
    Task<JobSnapshot> GetSnapshotAsync(CancellationToken cancellationToken = default);

    /// <summary>Waits until the job is terminal, for at most <paramref name="timeout"/>.</summary>
    /// <exception cref="JobAwaitTimeoutException">It did not end in time.</exception>
    /// <exception cref="JobNotFoundException">No job has this id.</exception>
    [ResponseTimeout("1.00:00:00")]
    Task<JobSnapshot> AwaitCompletionAsync(TimeSpan timeout, CancellationToken cancellationToken = default);

    /// <summary>Cancels the job: a job that waits ends cancelled at once; a running one is asked to
    /// stop (its runner's token fires; it ends cancelled when the run returns). A finished job is left alone.</summary>
    /// <returns>True when the job ended cancelled or its cancel was requested; false when it had already finished.</returns>
    Task<bool> CancelAsync(CancellationToken cancellationToken = default);

    /// <summary>The job's history, oldest first.</summary>
    /// <exception cref="JobNotFoundException">No job has this id.</exception>
    Task<IReadOnlyList<JobEvent>> GetHistoryAsync(CancellationToken cancellationToken = default);
}
