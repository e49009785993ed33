namespace Job.Common;

/// <summary>
/// An async auto-reset signal: any number of <see cref="Set"/> calls between two waits wake the
/// waiter once. Wakes the poller on NOTIFY and when capacity frees up.
/// </summary>
internal sealed class WakeSignal
{
    private TaskCompletionSource _tcs = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Set() => Volatile.Read(ref _tcs).TrySetResult();

    /// <summary>A task that completes on the next <see cref="Set"/> (or at once if one came since the last reset).</summary>
    public Task WaitTask => Volatile.Read(ref _tcs).Task;

    /// <summary>Re-arms the signal after a wake was consumed.</summary>
    public void Reset()
    {
        var current = Volatile.Read(ref _tcs);
        if (current.Task.IsCompleted)
        {
            Interlocked.CompareExchange(ref _tcs, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), current);
        }
    }
}
