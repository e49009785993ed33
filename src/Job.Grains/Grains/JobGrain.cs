using Job.Execution;
using Job.Hosting;
using Job.Storage;
using Orleans.Concurrency;

namespace Job.Grains;

/// <summary>
/// One job as the cluster sees it (key = job id): status, await, cancel and history, from any silo
/// or client. Runs happen on the claiming silo's poller; this grain reads the
/// database, the source of truth, and is woken by the database's <c>job_terminal</c> notification
/// when a job it waits for ends. Reentrant, so many callers can wait at once.
/// </summary>
[Reentrant]
[GrainType("job")]
internal sealed class JobGrain(JobRuntime runtime, JobWaiters waiters) : Grain, IJobGrain
{
    // A backstop for a lost notification (e.g. across a database restart): waiters re-read this often.
    private static readonly TimeSpan s_recheck = TimeSpan.FromSeconds(1);

    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _waiting;

    private JobId Id => this.GetPrimaryKey();

    public async Task<JobSnapshot> GetSnapshotAsync() => (await ReadAsync()).ToSnapshot();

    public async Task<JobSnapshot> AwaitCompletionAsync(TimeSpan timeout)
    {
        var deadline = DateTimeOffset.UtcNow + timeout;
        if (_waiting++ == 0)
        {
            var changed = _changed;
            waiters.Register(Id, () => changed.TrySetResult());
        }

        try
        {
            await runtime.Queue.MarkAwaitedAsync(Id, CancellationToken.None);
            while (true)
            {
                var signal = _changed.Task;
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

                await Task.WhenAny(signal, Task.Delay(remaining < s_recheck ? remaining : s_recheck));
                if (signal.IsCompleted)
                {
                    Rearm();
                }
            }
        }
        finally
        {
            if (--_waiting == 0)
            {
                waiters.Unregister(Id);
            }
        }
    }

    public async Task<bool> CancelAsync()
    {
        var cancelled = await runtime.Queue.CancelAsync(Id, runtime.Clock.Now, CancellationToken.None);
        if (!cancelled)
        {
            await ReadAsync(); // an unknown id is an error, not a quiet false
        }

        return cancelled;
    }

    public async Task<IReadOnlyList<JobEvent>> GetHistoryAsync()
    {
        await ReadAsync();
        return await runtime.Reads.EventsAsync(Id, CancellationToken.None);
    }

    private async Task<StoredJob> ReadAsync() =>
        await runtime.Reads.FindAsync(Id, CancellationToken.None) ?? throw new JobNotFoundException(Id);

    private void Rearm()
    {
        var next = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _changed = next;
        waiters.Register(Id, () => next.TrySetResult());
    }
}
