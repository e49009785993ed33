using Job.Execution;
using Job.Grains;
using Job.Hosting;
using Job.Storage;
using Job.Telemetry;
using Microsoft.Extensions.Logging;
using Orleans.Runtime;

namespace Job.Scheduling;

/// <summary>
/// One per silo: claims due jobs of the types registered on this silo, within this silo's capacity,
/// and hands each claim to its <see cref="JobGrain"/> on this silo. It sleeps until a NOTIFY (a
/// spawn due now, or a type's scheduler announcing that jobs fell due), freed capacity, or the
/// safety interval, whichever comes first; it never polls for future work itself. It also
/// heartbeats the claims this silo holds and, at shutdown, stops claiming first, signals the
/// runners, waits, and hands back what is still running.
/// </summary>
internal sealed partial class JobPoller(
    JobRuntime runtime,
    JobRegistry registry,
    IGrainFactory grains,
    ILocalSiloDetails silo,
    ClaimLedger ledger,
    ClaimRunner runner,
    JobShutdownSignal shutdownSignal,
    JobNotifications notifications,
    ILogger<JobPoller> logger) : IAsyncDisposable
{
    private readonly CancellationTokenSource _stopClaiming = new();
    private readonly CancellationTokenSource _stopBackground = new();
    private readonly WakeSignal _wake = new();
    private readonly Lock _lifecycle = new();
    private readonly List<Task> _background = [];
    private Task? _mainLoop;
    private Task? _shutdown;
    private HashSet<string> _types = [];
    private string[] _typeArray = [];

    // The latest "due up to" a scheduler announced that this silo's clock had not reached yet
    // (clock skew between hosts); the poller sleeps until its own clock reads it. Ticks; 0 = none.
    private long _announcedAhead;
    private int _ensureRequests;

    private string SiloName => silo.SiloAddress.ToParsableString();

    /// <summary>Closes the registry and starts claiming.</summary>
    /// <exception cref="InvalidOperationException">Polling was already started or shut down.</exception>
    public async Task StartAsync(CancellationToken ct)
    {
        lock (_lifecycle)
        {
            if (_mainLoop is not null || _shutdown is not null)
            {
                throw new InvalidOperationException(_shutdown is not null
                    ? "Polling cannot start after shutdown."
                    : "Polling has already started; StartPollAsync may be called once.");
            }

            registry.Seal();
            _typeArray = registry.TypeNames;
            _types = [.. _typeArray];
            _mainLoop = Task.CompletedTask;
        }

        // The type grains schedule this silo's future work, and may live on a silo that is dead but
        // not yet declared so: that must not stop this silo from running jobs due now, so they are
        // ensured in the background.
        EnsureTypeGrains();
        notifications.AttachPoller(OnDue);
        lock (_lifecycle)
        {
            _background.Add(Task.Run(() => HeartbeatLoopAsync(_stopBackground.Token), CancellationToken.None));
            _mainLoop = Task.Run(() => MainLoopAsync(_stopClaiming.Token), CancellationToken.None);
        }
        LogStarted(SiloName, string.Join(", ", _typeArray), runtime.Options.MaxJobsPerProcess);
    }

    /// <summary>Stops claiming, signals running jobs, waits up to the shutdown timeout (real time), then
    /// hands back what still runs so another silo starts it at once. Idempotent.</summary>
    public Task ShutdownAsync()
    {
        lock (_lifecycle)
        {
            return _shutdown ??= ShutdownCoreAsync();
        }
    }

    /// <summary>Makes sure the grain (the scheduler and janitor) of every type this silo runs is
    /// active somewhere, e.g. again after the silo that held some of them was declared dead. Calls
    /// while a pass runs ask for one more pass after it.</summary>
    public void EnsureTypeGrains()
    {
        lock (_lifecycle)
        {
            if (_mainLoop is not null && _shutdown is null && Interlocked.Increment(ref _ensureRequests) == 1)
            {
                _background.Add(Task.Run(() => EnsureTypeGrainsAsync(_stopBackground.Token), CancellationToken.None));
            }
        }
    }

    private async Task EnsureTypeGrainsAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            var requests = Volatile.Read(ref _ensureRequests);
            await EnsureMaintenanceAsync(ct).ConfigureAwait(false);
            if (Interlocked.CompareExchange(ref _ensureRequests, 0, requests) == requests)
            {
                return;
            }
        }
    }

    private async Task EnsureMaintenanceAsync(CancellationToken ct)
    {
        var failures = new FailureStreak();
        var pending = new Queue<string>(_typeArray);
        while (pending.Count > 0 && !ct.IsCancellationRequested)
        {
            try
            {
                await grains.GetGrain<IJobTypeMaintenanceGrain>(pending.Peek()).EnsureMaintenanceAsync().WaitAsync(ct).ConfigureAwait(false);
                pending.Dequeue();
                failures.Reset();
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                if (failures.Fail())
                {
                    LogMaintenanceFailed(pending.Peek(), failures.Count, ex);
                }

                if (!await failures.BackOffAsync(ct).ConfigureAwait(false))
                {
                    return;
                }
            }
        }
    }

    private void OnDue(string? jobType, DateTimeOffset? upTo)
    {
        if (jobType is not null && !_types.Contains(jobType))
        {
            return;
        }

        if (upTo is { } announced && announced > runtime.Clock.Now)
        {
            var ticks = announced.UtcTicks;
            long seen;
            while ((seen = Volatile.Read(ref _announcedAhead)) < ticks && Interlocked.CompareExchange(ref _announcedAhead, ticks, seen) != seen)
            {
            }
        }

        _wake.Set();
    }

    // An announced due time this silo's clock has not reached yet, if any (cleared once reached).
    private DateTimeOffset? AnnouncedAhead(DateTimeOffset now)
    {
        var ticks = Volatile.Read(ref _announcedAhead);
        if (ticks == 0)
        {
            return null;
        }

        if (ticks <= now.UtcTicks)
        {
            Interlocked.CompareExchange(ref _announcedAhead, 0, ticks);
            return null;
        }

        return new DateTimeOffset(ticks, TimeSpan.Zero);
    }

    private async Task MainLoopAsync(CancellationToken ct)
    {
        var failures = new FailureStreak();
        while (!ct.IsCancellationRequested)
        {
            _wake.Reset();
            ledger.RoomFreed.Reset();
            DateTimeOffset? ahead = null;
            try
            {
                var now = runtime.Clock.Now;
                ahead = AnnouncedAhead(now);
                var limit = ledger.NextBatchSize();
                if (limit > 0 && await ClaimAsync(limit, now, ct).ConfigureAwait(false) == limit)
                {
                    failures.Reset();
                    continue; // a full batch: there may be more, drain at once
                }

                // Below capacity, nothing more is due: sleep until a notification. At capacity
                // there is nothing to look for; freed capacity wakes the loop.
                failures.Reset();
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                if (failures.Fail())
                {
                    LogPollFailed(failures.Count, ex);
                }

                await WaitAsync(null, failures.Delay, ct).ConfigureAwait(false);
                continue;
            }

            await WaitAsync(ahead, runtime.Options.MaxPollInterval, ct).ConfigureAwait(false);
        }
    }

    private async Task<int> ClaimAsync(int limit, DateTimeOffset now, CancellationToken ct)
    {
        IReadOnlyList<ClaimedJob> claims;
        using (var activity = JobTelemetry.StartClaim(limit))
        {
            claims = await runtime.Queue.ClaimAsync(_typeArray, now, limit, SiloName, ct).ConfigureAwait(false);
            activity?.SetTag("job.claim.count", claims.Count);
        }

        if (claims.Count > 0)
        {
            ledger.Add(claims);
            JobTelemetry.Claimed.Add(claims.Count);
            foreach (var claim in claims)
            {
                _ = DispatchAsync(claim); // never throws; the claim is in the ledger until its run ends
            }
        }

        return claims.Count;
    }

    // Hands the claim to its job grain on this silo (placed locally, found in this silo's own
    // directory: no call to another silo). The call returns once the run has started; the run releases the claim when it ends.
    private async Task DispatchAsync(ClaimedJob claim)
    {
        bool started;
        try
        {
            started = await grains.GetGrain<IJobExecutionGrain>(claim.Id.Value).StartAsync(claim).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            await runner.AbandonAsync(claim, ex.GetType().Name, ex).ConfigureAwait(false);
            return;
        }

        if (!started)
        {
            await runner.AbandonAsync(claim, "its grain was placed on another silo", null).ConfigureAwait(false);
        }
    }

    // Sleeps until a wake (notification or freed capacity), an announced due time this silo's
    // clock has not reached yet, or maxWait on real time.
    private async Task WaitAsync(DateTimeOffset? nextDue, TimeSpan maxWait, CancellationToken ct)
    {
        try
        {
            await runtime.Clock.WaitAnyAsync(nextDue, maxWait, ct, _wake.WaitTask, ledger.RoomFreed.WaitTask).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // stopping
        }
    }

    private async Task HeartbeatLoopAsync(CancellationToken ct)
    {
        var interval = runtime.Options.JobLostInterval / 4;
        var failures = new FailureStreak();
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(failures.Count == 0 ? interval : failures.Delay, ct).ConfigureAwait(false);
                await runtime.Queue.HeartbeatAsync(ledger.Snapshot(), ct).ConfigureAwait(false);

                // The fallback for hung runners, on database time: every silo checks the types it
                // runs (the statement is atomic, so the first one to see a lost job takes it).
                var lost = await runtime.Queue.RescueLostAsync(_typeArray, runtime.Options.JobLostInterval, runtime.Clock.Now, ct).ConfigureAwait(false);
                foreach (var (id, type) in lost)
                {
                    JobTelemetry.Rescued.Add(1);
                    LogLost(id, type, runtime.Options.JobLostInterval);
                }

                failures.Reset();
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                if (failures.Fail())
                {
                    LogHeartbeatFailed(failures.Count, ex);
                }
            }
        }
    }

    private async Task ShutdownCoreAsync()
    {
        // 1. Stop claiming, and wait for a claim in progress so nothing is dispatched late.
        await _stopClaiming.CancelAsync().ConfigureAwait(false);
        if (_mainLoop is { } loop)
        {
            await loop.ConfigureAwait(false);
        }

        // 2. Tell running jobs, then give them the shutdown timeout (real time).
        shutdownSignal.Signal();
        var deadline = DateTime.UtcNow + runtime.Options.ShutdownTimeout;
        while (!ledger.IsEmpty && DateTime.UtcNow < deadline)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(20)).ConfigureAwait(false);
        }

        // 3. Hand back what still runs: pending and due now, for another silo.
        var remaining = ledger.Snapshot();
        if (remaining.Count > 0)
        {
            try
            {
                var handedBack = await runtime.Queue.AbortAsync(remaining, "shutdown timeout", runtime.Clock.Now, CancellationToken.None).ConfigureAwait(false);
                LogHandedBack(handedBack, runtime.Options.ShutdownTimeout);
            }
            catch (Exception ex)
            {
                LogHandBackAtShutdownFailed(remaining.Count, ex);
            }
        }

        await _stopBackground.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(_background).ConfigureAwait(false);
        if (_mainLoop is not null)
        {
            LogStopped(SiloName);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_mainLoop is not null)
        {
            await ShutdownAsync().ConfigureAwait(false);
        }

        _stopClaiming.Dispose();
        _stopBackground.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Job poller on {Silo} started for types [{Types}], up to {Max} jobs at once.")]
    private partial void LogStarted(string silo, string types, int max);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job poller on {Silo} stopped.")]
    private partial void LogStopped(string silo);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Starting the maintenance of job type {JobType} failed ({Failures} in a row); retrying. Jobs of the type run meanwhile.")]
    private partial void LogMaintenanceFailed(string jobType, int failures, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Claiming jobs failed ({Failures} in a row); retrying with capped backoff.")]
    private partial void LogPollFailed(int failures, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Job {JobId} ({JobType}) was lost: no heartbeat for {LostInterval}; it is pending again and will run elsewhere.")]
    private partial void LogLost(JobId jobId, string jobType, TimeSpan lostInterval);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Heartbeat of running jobs failed ({Failures} in a row).")]
    private partial void LogHeartbeatFailed(int failures, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Count} job(s) still ran after the shutdown timeout of {Timeout} and were handed back to pending.")]
    private partial void LogHandedBack(int count, TimeSpan timeout);

    [LoggerMessage(Level = LogLevel.Error, Message = "Handing back {Count} job(s) at shutdown failed; they will be rescued when this silo is declared dead.")]
    private partial void LogHandBackAtShutdownFailed(int count, Exception exception);
}
