namespace Job.Client;

/// <summary>
/// Waits for a job to end: marks it awaited (so the database announces its end), then reads it each
/// time the announcement comes, and every second besides in case one was lost (a reconnect).
/// Shared by <see cref="JobClient"/> and the silo's job grains.
/// </summary>
internal sealed class JobAwaiter(JobContext context, JobCompletionWaiters waiters)
{
    private static readonly TimeSpan s_recheck = TimeSpan.FromSeconds(1);

    /// <exception cref="JobAwaitTimeoutException">The job did not end within <paramref name="timeout"/>.</exception>
    /// <exception cref="JobNotFoundException">No job has this id.</exception>
    public async Task<JobSnapshot> AwaitAsync(JobId id, TimeSpan timeout, CancellationToken ct)
    {
        var deadline = DateTimeOffset.UtcNow + (timeout < TimeSpan.Zero ? TimeSpan.Zero : timeout);
        var changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var registration = waiters.Register(id, () => Volatile.Read(ref changed).TrySetResult());
        await context.Control.MarkAwaitedAsync(id, ct).ConfigureAwait(false);
        while (true)
        {
            var signal = Volatile.Read(ref changed).Task;
            var snapshot = await context.SnapshotAsync(id, ct).ConfigureAwait(false);
            if (snapshot.IsTerminal)
            {
                return snapshot;
            }

            var remaining = deadline - DateTimeOffset.UtcNow;
            if (remaining <= TimeSpan.Zero)
            {
                throw new JobAwaitTimeoutException(id, timeout);
            }

            await Task.WhenAny(signal, Task.Delay(remaining < s_recheck ? remaining : s_recheck, ct)).ConfigureAwait(false);
            ct.ThrowIfCancellationRequested();
            if (signal.IsCompleted)
            {
                Volatile.Write(ref changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
            }
        }
    }
}
