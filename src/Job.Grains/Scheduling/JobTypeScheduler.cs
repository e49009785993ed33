using Job.Hosting;
using Microsoft.Extensions.Logging;

namespace Job.Scheduling;

/// <summary>
/// The scheduler of one job type, owned by the type's single <see cref="Grains.JobTypeGrain"/>
/// activation: it sleeps on the application clock until the type's next job falls due, then wakes
/// that type's pollers on every silo with one NOTIFY. A later due time written anywhere (spawn at,
/// retry with backoff, reschedule) reaches it through the <c>job_scheduled</c> notification. It
/// holds one timer per type, never one per job, so a million scheduled jobs cost no memory.
/// </summary>
/// <remarks>
/// The invariant: every job due at or before <c>upTo</c> has been announced, by its writer (due at
/// once) or by this scheduler, and the next wake is the earliest due time after <c>upTo</c>. One
/// clock reading serves both the announcement and the next lookup, so nothing falls between them.
/// A write that commits late (a caller's long transaction, or a writer whose clock is behind) can
/// bring a due time at or before <c>upTo</c>: its <c>job_scheduled</c> notification carries that
/// time, and the scheduler announces again at once. A change of unknown time (a reconnect, the
/// reminder's tick) is announced too.
/// </remarks>
internal sealed partial class JobTypeScheduler(JobRuntime runtime, string jobType, ILogger logger) : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly WakeSignal _changed = new();
    private readonly string[] _types = [jobType];
    private Task _loop = Task.CompletedTask;

    // The earliest due time among changes not yet looked at, in ticks: NoChange when there are none,
    // UnknownTime when one came without a time.
    private const long NoChange = long.MaxValue;
    private const long UnknownTime = long.MinValue;
    private long _changedAt = NoChange;

    /// <summary>Starts the loop on the thread pool; the first thing it does is announce what is due already.</summary>
    public void Start() => _loop = Task.Run(() => RunAsync(_stop.Token), CancellationToken.None);

    /// <summary>A job of the type got a later due time (<paramref name="dueAt"/>, or null when not
    /// known), which may be earlier than the one being waited for.</summary>
    public void Changed(DateTimeOffset? dueAt)
    {
        Offer(dueAt?.UtcTicks ?? UnknownTime);
        _changed.Set();
    }

    private void Offer(long ticks)
    {
        long seen;
        while ((seen = Volatile.Read(ref _changedAt)) > ticks && Interlocked.CompareExchange(ref _changedAt, ticks, seen) != seen)
        {
        }
    }

    private async Task RunAsync(CancellationToken ct)
    {
        var failures = new FailureStreak();
        DateTimeOffset? upTo = null;
        while (!ct.IsCancellationRequested)
        {
            _changed.Reset();
            var changedAt = Interlocked.Exchange(ref _changedAt, NoChange);
            try
            {
                DateTimeOffset? next = null;
                if (upTo is { } announced)
                {
                    next = await runtime.Queue.NextDueAsync(_types, announced, ct).ConfigureAwait(false);
                }

                var now = runtime.Clock.Now;
                if (upTo is null || next <= now || changedAt <= upTo.Value.UtcTicks)
                {
                    // First round (this activation may follow a failed-over one), jobs fell due, or a
                    // change brought a due time already announced past (or of unknown time).
                    await runtime.Queue.NotifyDueAsync(jobType, now, ct).ConfigureAwait(false);
                    upTo = now;
                    failures.Reset();
                    continue;
                }

                failures.Reset();

                // Until the next due time on the application clock, or a change; with nothing
                // scheduled, only a change.
                await runtime.Clock.WaitAnyAsync(next, null, ct, _changed.WaitTask).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                Offer(changedAt); // not looked at: keep it for the next round
                if (failures.Fail())
                {
                    LogSchedulerFailed(jobType, failures.Count, ex);
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "The scheduler of job type {JobType} failed ({Failures} in a row); retrying. Pollers still look on their safety interval.")]
    private partial void LogSchedulerFailed(string jobType, int failures, Exception exception);
}
