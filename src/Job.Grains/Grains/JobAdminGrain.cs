using Orleans.Concurrency;

namespace Job.Grains;

/// <summary>
/// <see cref="IJobAdminGrain"/>: the silo's <see cref="JobAdmin"/> for Orleans clients. Stateless and
/// local to the silo the call lands on: the database is the truth, so any silo answers the same.
/// </summary>
[StatelessWorker]
[GrainType("job-admin")]
internal sealed class JobAdminGrain(JobClient client) : Grain, IJobAdminGrain
{
    private JobAdmin Admin => client.Admin;

    public Task<JobListPage> ListAsync(JobListQuery query) => Admin.ListAsync(query);

    public Task<JobDetails> GetAsync(JobId id) => Admin.GetAsync(id);

    public Task<JobDetails> GetAsync(JobId id, JobHistoryWindow history) => Admin.GetAsync(id, history);

    public Task<JobMatchCount> CountMatchingAsync(JobFilter filter, int limit) => Admin.CountMatchingAsync(filter, limit);

    public Task<JobCounts> CountAsync() => Admin.CountAsync();

    public Task RetryAsync(JobId id, string? actor) => Admin.RetryAsync(id, actor);

    public Task<JobCancelOutcome> CancelAsync(JobId id, string? actor) => Admin.CancelAsync(id, actor);

    public Task DeleteAsync(JobId id, string? actor) => Admin.DeleteAsync(id, actor);

    public Task<JobBulkResult> RetryAllAsync(JobFilter filter, string? actor, int limit) => Admin.RetryAllAsync(filter, actor, limit);

    public Task<JobBulkResult> CancelAllAsync(JobFilter filter, string? actor, int limit) => Admin.CancelAllAsync(filter, actor, limit);

    public Task<JobBulkResult> DeleteAllAsync(JobFilter filter, string? actor, int limit) => Admin.DeleteAllAsync(filter, actor, limit);

    public Task PauseAsync(string jobType, string? actor) => Admin.PauseAsync(new JobType(jobType), actor);

    public Task ResumeAsync(string jobType, string? actor) => Admin.ResumeAsync(new JobType(jobType), actor);

    public Task<IReadOnlyList<JobSiloInfo>> SilosAsync() => Admin.SilosAsync();

    public Task<IReadOnlyList<JobAdminAction>> RecentActionsAsync(int limit) => Admin.RecentActionsAsync(limit);
}
