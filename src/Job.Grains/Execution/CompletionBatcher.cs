using System.Threading.Channels;
using Job.Hosting;
using Job.Storage;

namespace Job.Execution;

/// <summary>
/// Group commit for completions: runs that complete while batches are being written wait for the
/// next one (a few batches may be in flight at once), so under load one statement (and one fsync) completes hundreds of jobs, and an idle
/// silo adds no delay at all (a lone completion is written at once). Each completion is still
/// fenced by its own claim token, and a caller learns only after its batch committed, so nothing
/// is reported complete that is not durable. Completions inside a runner's transaction are not
/// batched: they commit with the runner's own writes.
/// </summary>
internal sealed class CompletionBatcher : IAsyncDisposable
{
    private const int MaxBatch = 1000;

    // Batches written at once: while one waits on its commit (fsync), the next fills and goes.
    internal const int Writers = 3;

    private readonly JobRuntime _runtime;
    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>();
    private readonly Task[] _writers;

    public CompletionBatcher(JobRuntime runtime)
    {
        _runtime = runtime;
        _writers = [.. Enumerable.Range(0, Writers).Select(_ => Task.Run(WriteLoopAsync))];
    }

    /// <summary>Completes one claim in the next batch; true when its claim was still current.</summary>
    public Task<bool> CompleteAsync(ClaimedJob claim)
    {
        var pending = new Pending(claim, new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously));
        if (!_queue.Writer.TryWrite(pending))
        {
            pending.Done.SetException(new ObjectDisposedException(nameof(CompletionBatcher), "The silo is stopping; the completion was not written."));
        }

        return pending.Done.Task;
    }

    private async Task WriteLoopAsync()
    {
        var batch = new List<Pending>(MaxBatch);
        while (await _queue.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var next))
            {
                batch.Add(next);
            }

            try
            {
                var rows = batch.ConvertAll(p => (p.Claim.Id, p.Claim.ClaimToken, p.Claim.Attempt));
                var done = await _runtime.Queue.CompleteAsync(rows, _runtime.Clock.Now, null, CancellationToken.None).ConfigureAwait(false);
                foreach (var pending in batch)
                {
                    pending.Done.TrySetResult(done.Contains(pending.Claim.Id.Value));
                }
            }
            catch (Exception ex)
            {
                foreach (var pending in batch)
                {
                    pending.Done.TrySetException(ex);
                }
            }

            batch.Clear();
        }
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await Task.WhenAll(_writers).ConfigureAwait(false);
    }

    private readonly record struct Pending(ClaimedJob Claim, TaskCompletionSource<bool> Done);
}
