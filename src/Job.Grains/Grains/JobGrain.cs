using Job.Execution;
using Job.Hosting;
using Job.Storage;
using Orleans.Concurrency;
using Orleans.Placement;

namespace Job.Grains;

/// <summary>
/// One job (key = job id). Placed on the silo whose poller claimed it, it runs the claim and answers
/// status, await and cancel calls from anywhere in the cluster while it runs (it is reentrant).
/// Nothing is kept in grain state: the database is the truth and the grain only caches who waits.
/// </summary>
[Reentrant]
[PreferLocalPlacement]
[GrainType("job")]
internal sealed class JobGrain(JobRuntime runtime, JobExecutor executor, JobShutdownSignal shutdown) : Grain, IJobGrain, IJobExecutionGrain
{
    // How often a waiter re-reads the database, for ends it cannot see here (another activation
    // during a membership change, a cancel from SQL): a backstop, not the main path.
    private static readonly TimeSpan s_waiterRecheck = TimeSpan.FromSeconds(1);

    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _running;
    private int _waiters;

    private JobId Id => this.GetPrimaryKey();

    public async Task ExecuteAsync(ClaimedJob claim)
    {
        _running++;
        try
        {
            await executor.ExecuteAsync(claim, shutdown.Token);
        }
        finally
        {
            _running--;
            NotifyChanged();
            if (_running == 0 && _waiters == 0)
            {
                // Most jobs are never looked at while they run: free the activation at once.
                DeactivateOnIdle();
            }
        }
    }

    public async Task<JobSnapshot> GetSnapshotAsync() => (await ReadAsync()).ToSnapshot();

    public async Task<JobSnapshot> AwaitCompletionAsync(TimeSpan timeout)
    {
        var deadline = DateTimeOffset.UtcNow + timeout;
        _waiters++;
        try
        {
            while (true)
            {
                var snapshot = (await ReadAsync()).ToSnapshot();
                if (snapshot.IsTerminal)
                {
                    return snapshot;
                }

                var remaining = deadline - DateTimeOffset.UtcNow;
                if (remaining <= TimeSpan.Zero)
                {
                    throw new JobAwaitTimeoutException(Id, timeout);
                }

                var changed = _changed.Task;
                await Task.WhenAny(changed, Task.Delay(remaining < s_waiterRecheck ? remaining : s_waiterRecheck));
            }
        }
        finally
        {
            _waiters--;
        }
    }

    public async Task<bool> CancelAsync()
    {
        var cancelled = await runtime.Queue.CancelAsync(Id, runtime.Clock.Now, CancellationToken.None);
        if (!cancelled)
        {
            await ReadAsync(); // an unknown id is an error, not a quiet false
        }

        NotifyChanged();
        return cancelled;
    }

    public async Task<IReadOnlyList<JobEvent>> GetHistoryAsync()
    {
        await ReadAsync();
        return await runtime.Reads.EventsAsync(Id, CancellationToken.None);
    }

    private async Task<StoredJob> ReadAsync() =>
        await runtime.Reads.FindAsync(Id, CancellationToken.None) ?? throw new JobNotFoundException(Id);

    private void NotifyChanged()
    {
        var previous = _changed;
        _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        previous.TrySetResult();
    }
}
