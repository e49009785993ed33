using System.Threading.Channels;
using Job.Hosting;
using Job.Storage;
using Microsoft.Extensions.Logging;

namespace Job.Completion;

/// <summary>
/// The one writer of every run's outcome (completed, rescheduled, retry, errored, handed back,
/// cancelled): outcomes that arrive while batches are being written wait for the next batch, so
/// under load one transaction (one fsync) records hundreds of runs, and a lone outcome on an idle
/// silo is written at once. A few batches are written at a time: while one waits on its commit, the
/// next fills. Each outcome is fenced by its own claim and matched back by it, so a stale and a
/// current claim of one job in one batch are told apart. Transient failures (the database
/// restarting) are retried; a batch that fails for any other reason is written again one outcome at
/// a time, so one bad row costs only itself. A caller learns an outcome's fate only after its
/// transaction committed: nothing is reported written that is not durable.
/// </summary>
internal sealed partial class JobCompleter : IAsyncDisposable
{
    /// <summary>Batches written at once.</summary>
    internal const int Writers = 3;

    private const int MaxBatch = 1000;

    private readonly JobRuntime _runtime;
    private readonly ILogger<JobCompleter> _logger;
    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleWriter = false });
    private readonly Task[] _writers;
    private int _inFlight;
    private TaskCompletionSource _idle = NewIdle();

    public JobCompleter(JobRuntime runtime, ILogger<JobCompleter> logger)
    {
        _runtime = runtime;
        _logger = logger;
        _idle.TrySetResult();
        _writers = [.. Enumerable.Range(0, Writers).Select(_ => Task.Run(WriteLoopAsync))];
    }

    /// <summary>Writes the outcome in the next batch.</summary>
    /// <returns>True when it was applied; false when its claim was stale (nothing written).</returns>
    /// <exception cref="Exception">The write failed for good (not transiently, or past the retry deadline).</exception>
    public Task<bool> SubmitAsync(RunOutcome outcome)
    {
        var result = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        Enqueue(new Pending(outcome, result, null));
        return result.Task;
    }

    /// <summary>
    /// Writes the outcome in the next batch and then calls <paramref name="written"/> on the writer's
    /// thread, once its transaction committed: (outcome, applied, null), applied false for a stale claim;
    /// or (outcome, false, error) when the write failed for good. No task and no continuation per
    /// outcome: the runs' own path, where a no-op job's whole cost is counted in microseconds.
    /// The callback must not block (it runs between batches).
    /// </summary>
    public void Submit(RunOutcome outcome, Action<RunOutcome, bool, Exception?> written) =>
        Enqueue(new Pending(outcome, null, written));

    private void Enqueue(Pending pending)
    {
        lock (_queue)
        {
            if (_inFlight++ == 0)
            {
                _idle = NewIdle();
            }
        }

        if (!_queue.Writer.TryWrite(pending))
        {
            Done(pending, ex: new ObjectDisposedException(nameof(JobCompleter), "The silo is stopping; the outcome was not written."));
        }
    }

    /// <summary>Waits until every outcome submitted so far is written, at most <paramref name="within"/>.</summary>
    /// <returns>False when some were still on their way.</returns>
    public async Task<bool> DrainAsync(TimeSpan within)
    {
        Task idle;
        lock (_queue)
        {
            idle = _idle.Task;
        }

        return await Task.WhenAny(idle, Task.Delay(within)).ConfigureAwait(false) == idle;
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

            if (batch.Count == 0)
            {
                continue; // another writer took them
            }

            try
            {
                var applied = await Durably(batch).ConfigureAwait(false);
                foreach (var pending in batch)
                {
                    Done(pending, applied.Contains(pending.Outcome.Claim.Key));
                }
            }
            catch (Exception ex) when (batch.Count > 1)
            {
                // Not transient, or past the deadline: write each alone, so one bad row costs only itself.
                LogBatchFailed(batch.Count, ex);
                foreach (var pending in batch)
                {
                    try
                    {
                        var applied = await Durably([pending]).ConfigureAwait(false);
                        Done(pending, applied.Contains(pending.Outcome.Claim.Key));
                    }
                    catch (Exception single)
                    {
                        Done(pending, ex: single);
                    }
                }
            }
            catch (Exception ex)
            {
                Done(batch[0], ex: ex);
            }

            batch.Clear();
        }
    }

    // Retried through blips (fenced, so retrying is safe). Past the lost interval the job is rescued
    // anyway, so retrying longer is pointless.
    private Task<HashSet<(JobId Id, long Token)>> Durably(List<Pending> batch)
    {
        var outcomes = batch.ConvertAll(p => p.Outcome);
        return TransientRetry.RunAsync(
            () => _runtime.Queue.FinishAsync(outcomes, _runtime.Clock.Now, null, CancellationToken.None),
            _runtime.Options.JobLostInterval,
            (failures, ex) => LogWriteRetry(outcomes.Count, failures, ex));
    }

    private void Done(Pending pending, bool applied = false, Exception? ex = null)
    {
        if (pending.Written is { } written)
        {
            try
            {
                written(pending.Outcome, applied, ex);
            }
            catch (Exception callback)
            {
                LogCallbackFailed(callback);
            }
        }
        else if (ex is null)
        {
            pending.Result!.TrySetResult(applied);
        }
        else
        {
            pending.Result!.TrySetException(ex);
        }

        lock (_queue)
        {
            if (--_inFlight == 0)
            {
                _idle.TrySetResult();
            }
        }
    }

    private static TaskCompletionSource NewIdle() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await Task.WhenAll(_writers).ConfigureAwait(false);
    }

    private readonly record struct Pending(RunOutcome Outcome, TaskCompletionSource<bool>? Result, Action<RunOutcome, bool, Exception?>? Written);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Writing a batch of {Count} run outcomes failed; writing them one at a time.")]
    private partial void LogBatchFailed(int count, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Handling a written run outcome failed.")]
    private partial void LogCallbackFailed(Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Writing {Count} run outcome(s) failed ({Failures} in a row); retrying.")]
    private partial void LogWriteRetry(int count, int failures, Exception exception);
}
