using Job.Common;
using Job.Hosting;
using Microsoft.Extensions.Logging;

namespace Job.Maintenance;

/// <summary>
/// The cluster's scheduler, run by its leader: it sleeps on the application clock until the next
/// scheduled job falls due, then makes the due jobs pending in one statement, which wakes the
/// silos that run their types. A job scheduled earlier than the time it sleeps for (a spawn, a
/// retry, a reschedule anywhere) reaches it through the <c>job_scheduled</c> notification. One timer
/// for the whole cluster, never one per job or per type: a million scheduled jobs or ten thousand
/// idle types cost nothing.
/// </summary>
internal sealed partial class JobScheduler(JobRuntime runtime, ILogger logger) : IAsyncDisposable
{
    // Promotions per statement; a full batch means more are due, and the loop goes on at once.
    private const int Batch = 1000;

    private readonly CancellationTokenSource _stop = new();
    private readonly WakeSignal _changed = new();
    private Task _loop = Task.CompletedTask;

    // The earliest time announced since the last look, in ticks; long.MaxValue: none.
    private long _announced = long.MaxValue;

    public void Start() => _loop = Task.Run(() => RunAsync(_stop.Token), CancellationToken.None);

    /// <summary>A job was scheduled for <paramref name="dueAt"/> (null: unknown; look again).</summary>
    public void Changed(DateTimeOffset? dueAt)
    {
        var ticks = dueAt?.UtcTicks ?? long.MinValue;
        long seen;
        while ((seen = Volatile.Read(ref _announced)) > ticks && Interlocked.CompareExchange(ref _announced, ticks, seen) != seen)
        {
        }

        _changed.Set();
    }

    private async Task RunAsync(CancellationToken ct)
    {
        var failures = new FailureStreak();
        DateTimeOffset? next = null;
        while (!ct.IsCancellationRequested)
        {
            _changed.Reset();
            var announced = Interlocked.Exchange(ref _announced, long.MaxValue);
            try
            {
                if (next is null || next <= runtime.Clock.Now || announced < next.Value.UtcTicks)
                {
                    (var promoted, next) = await runtime.Maintenance.PromoteAsync(runtime.Clock.Now, Batch, ct).ConfigureAwait(false);
                    failures.Reset();
                    if (promoted == Batch)
                    {
                        next = null;
                        continue;
                    }
                }

                // Until the next scheduled job is due on the application clock, or an earlier one is
                // announced; with nothing scheduled, only the announcement.
                await runtime.Clock.WaitAnyAsync(next, null, ct, _changed.WaitTask).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                Changed(null); // look again once the database answers
                next = null;
                if (failures.Fail())
                {
                    LogSchedulerFailed(failures.Count, ex);
                }

                if (!await failures.BackOffAsync(ct).ConfigureAwait(false))
                {
                    return;
                }
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        _stop.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The job scheduler failed ({Failures} in a row); retrying. Due jobs wait until it recovers.")]
    private partial void LogSchedulerFailed(int failures, Exception exception);
}
