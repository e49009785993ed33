using Job.Client;
using Job.Hosting;
using Job.Storage;
using Orleans.Concurrency;

namespace Job.Grains;

/// <summary>
/// One job (key = job id), for Orleans clients and silos: its status and history read from the
/// database (the truth), an await that returns the moment the job ends (woken by the database's
/// <c>job_terminal</c> notification on this silo), and cancel. It holds no job state, and runs do not
/// pass through it (a grain turn per run cost more CPU than a no-op job: docs/architecture.md,
/// decision 3). Reentrant, so many waiters and a cancel share the activation.
/// </summary>
[Reentrant]
[GrainType("job")]
internal sealed class JobGrain(JobRuntime runtime, JobCompletionWaiters waiters) : Grain, IJobGrain
{
    private JobId Id => this.GetPrimaryKey();

    public Task<JobSnapshot> GetSnapshotAsync(CancellationToken cancellationToken) => runtime.Context.SnapshotAsync(Id, cancellationToken);

    public Task<JobSnapshot> AwaitCompletionAsync(TimeSpan timeout, CancellationToken cancellationToken) =>
        new JobAwaiter(runtime.Context, waiters).AwaitAsync(Id, timeout, cancellationToken);

    public async Task<bool> CancelAsync(CancellationToken cancellationToken)
    {
        var result = await runtime.Context.Control.CancelAsync(Id, "cancelled through the job's grain", runtime.Clock.Now, cancellationToken);
        if (result == JobControlStore.CancelResult.NotLive)
        {
            await GetSnapshotAsync(cancellationToken); // an unknown id is an error, not a quiet false
            return false;
        }

        return true;
    }

    public async Task<IReadOnlyList<JobEvent>> GetHistoryAsync(CancellationToken cancellationToken)
    {
        await GetSnapshotAsync(cancellationToken);
        return await runtime.Reads.EventsAsync(Id, cancellationToken);
    }
}
