using Job.Execution;
using Job.Hosting;
using Job.Scheduling;
using Job.Storage;
using Orleans.Concurrency;
using Orleans.GrainDirectory;
using Orleans.Placement;

namespace Job.Grains;

/// <summary>
/// One job (key = job id). Each claim of the job runs in this grain on the silo that claimed it,
/// and the grain answers status, await, cancel and history calls from any silo or client, reading
/// the database, the source of truth; it is woken by the database's <c>job_terminal</c>
/// notification when a job it waits for ends.
/// </summary>
/// <remarks>
/// Placed on the silo that calls it (<c>[PreferLocalPlacement]</c>) and registered only in that
/// silo's <see cref="LocalRunDirectory"/>. A run therefore never crosses the network and never
/// waits on a directory partition held by a silo that is dead but not yet declared so
/// (docs/architecture.md, decision 3, has the measurement). There is at most one activation per
/// job per silo; the fence against a stale run is the claim token every write presents, not
/// single activation in the cluster. Reentrant, so a run, many waiters and a cancel share the
/// activation; the runner itself runs on the thread pool, so blocking or synchronous-over-async
/// user code cannot stall the grain. The activation goes away as soon as it holds neither a run
/// nor a waiter.
/// </remarks>
[Reentrant]
[PreferLocalPlacement]
[GrainDirectory(GrainDirectoryName = LocalRunDirectory.Name)]
[GrainType("job")]
internal sealed class JobGrain(JobRuntime runtime, JobWaiters waiters, ClaimLedger ledger, ClaimRunner runner) : Grain, IJobGrain, IJobExecutionGrain
{
    // A backstop for a lost notification (e.g. across a database restart): waiters re-read this often.
    private static readonly TimeSpan s_recheck = TimeSpan.FromSeconds(1);

    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _waiting;
    private int _running;

    private JobId Id => this.GetPrimaryKey();

    public Task<bool> StartAsync(ClaimedJob claim)
    {
        ArgumentNullException.ThrowIfNull(claim);
        if (claim.Id != Id)
        {
            throw new ArgumentException($"Job grain {Id} was handed a claim of job {claim.Id}.", nameof(claim));
        }

        if (!ledger.TryTake(claim))
        {
            return Task.FromResult(false);
        }

        if (_running++ == 0)
        {
            DelayDeactivation(Timeout.InfiniteTimeSpan); // the activation lives as long as its runs
        }

        _ = RunAsync(claim);
        return Task.FromResult(true);
    }

    private async Task RunAsync(ClaimedJob claim)
    {
        try
        {
            await Task.Run(() => runner.RunAsync(claim));
        }
        finally
        {
            if (--_running == 0)
            {
                DelayDeactivation(TimeSpan.Zero);
                DeactivateWhenUnused();
            }
        }
    }

    private void DeactivateWhenUnused()
    {
        if (_running == 0 && _waiting == 0)
        {
            DeactivateOnIdle();
        }
    }

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
                DeactivateWhenUnused();
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
