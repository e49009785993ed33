namespace Job;

/// <summary>
/// The admin operations for a plain Orleans client (no database access of its own): list, inspect,
/// count, retry, cancel, delete, pause and resume, as <c>JobAdmin</c> offers them in-process. Use key
/// 0 (<c>grainFactory.GetGrain&lt;IJobAdminGrain&gt;(0)</c>); it is stateless and runs on any silo.
/// Each operation is one database transaction and is recorded with <c>actor</c>.
/// </summary>
public interface IJobAdminGrain : IGrainWithIntegerKey
{
    /// <summary>One page of jobs.</summary>
    /// <exception cref="ArgumentException">The query is malformed (an unknown cursor, a sort its state does not have).</exception>
    Task<JobListPage> ListAsync(JobListQuery query);

    /// <summary>One job with its history and execution details.</summary>
    /// <exception cref="JobNotFoundException">No job has this id.</exception>
    Task<JobDetails> GetAsync(JobId id);

    /// <summary>One job with a window of its history (the newest events before an event): a job that
    /// reschedules itself keeps tens of thousands of events a day, which <see cref="GetAsync(JobId)"/>
    /// sends whole.</summary>
    /// <exception cref="JobNotFoundException">No job has this id.</exception>
    /// <exception cref="ArgumentException">A window of fewer than 1 or more than <see cref="JobHistoryWindow.MaxLimit"/> events, or a non-positive <c>Before</c>.</exception>
    Task<JobDetails> GetAsync(JobId id, JobHistoryWindow history);

    /// <summary>How many jobs a filter matches, counted up to <paramref name="limit"/> (at most 10,000):
    /// what <see cref="RetryAllAsync"/>, <see cref="CancelAllAsync"/> or <see cref="DeleteAllAsync"/> would take.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A limit below 1 or above 10,000.</exception>
    Task<JobMatchCount> CountMatchingAsync(JobFilter filter, int limit);

    /// <summary>Exact counts by state and type (reads every job: seconds on tens of millions).</summary>
    Task<JobCounts> CountAsync();

    /// <summary>Retries the job now.</summary>
    /// <exception cref="JobNotFoundException">No job has this id.</exception>
    /// <exception cref="JobStateConflictException">It runs or completed.</exception>
    Task RetryAsync(JobId id, string? actor);

    /// <summary>Cancels the job (a running one is asked to stop).</summary>
    /// <exception cref="JobNotFoundException">No job has this id.</exception>
    /// <exception cref="JobStateConflictException">It already finished.</exception>
    Task<JobCancelOutcome> CancelAsync(JobId id, string? actor);

    /// <summary>Deletes a finished job with its history.</summary>
    /// <exception cref="JobNotFoundException">No job has this id.</exception>
    /// <exception cref="JobStateConflictException">It is live.</exception>
    Task DeleteAsync(JobId id, string? actor);

    /// <summary>Retries up to <paramref name="limit"/> jobs the filter matches.</summary>
    Task<JobBulkResult> RetryAllAsync(JobFilter filter, string? actor, int limit);

    /// <summary>Cancels up to <paramref name="limit"/> jobs the filter matches.</summary>
    Task<JobBulkResult> CancelAllAsync(JobFilter filter, string? actor, int limit);

    /// <summary>Deletes up to <paramref name="limit"/> finished jobs the filter matches.</summary>
    Task<JobBulkResult> DeleteAllAsync(JobFilter filter, string? actor, int limit);

    /// <summary>Pauses the type cluster-wide: no silo claims its jobs; running ones finish.</summary>
    Task PauseAsync(string jobType, string? actor);

    /// <summary>Lets the silos claim the type's jobs again.</summary>
    Task ResumeAsync(string jobType, string? actor);

    /// <summary>The silos in Orleans membership, with the jobs each runs.</summary>
    Task<IReadOnlyList<JobSiloInfo>> SilosAsync();

    /// <summary>The latest recorded admin operations, newest first.</summary>
    Task<IReadOnlyList<JobAdminAction>> RecentActionsAsync(int limit);
}
