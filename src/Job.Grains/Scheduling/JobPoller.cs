using System.Collections.Concurrent;
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
/// and runs each claim here, through the <see cref="JobExecutor"/>. It sleeps until the next
/// due job on the application clock, a NOTIFY, freed capacity, or the safety interval, whichever
/// comes first. It also heartbeats the jobs it runs and, at shutdown, stops claiming first, signals
/// the runners, waits, and hands back what is still running.
/// </summary>
internal sealed partial class JobPoller(
    JobRuntime runtime,
    JobRegistry registry,
    IGrainFactory grains,
    ILocalSiloDetails silo,
    JobExecutor executor,
    JobShutdownSignal shutdownSignal,
    JobWaiters waiters,
    ILogger<JobPoller> logger) : IAsyncDisposable
{
    private readonly CancellationTokenSource _stopClaiming = new();
    private readonly CancellationTokenSource _stopBackground = new();
    private readonly WakeSignal _wake = new();
    private readonly ConcurrentDictionary<JobId, long> _inFlight = new();
    private readonly CapacityTracker _capacity = new(runtime.Poller.MinJobsPerProcess, runtime.Poller.MaxJobsPerProcess);
    private readonly Lock _lifecycle = new();
    private readonly List<Task> _background = [];
    private Task? _mainLoop;
    private Task? _shutdown;
    private HashSet<string> _types = [];
    private string[] _typeArray = [];

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

        // The types' maintenance grains may live on a silo that is dead but not yet declared so:
        // that must not stop this silo from running jobs, so they are ensured in the background.
        _background.Add(Task.Run(() => EnsureMaintenanceAsync(_stopBackground.Token), CancellationToken.None));
        var listener = new JobNotificationListener(runtime.DataSource, OnNotification, waiters.Notify, logger);
        _background.Add(Task.Run(() => listener.RunAsync(_stopBackground.Token), CancellationToken.None));
        _background.Add(Task.Run(() => HeartbeatLoopAsync(_stopBackground.Token), CancellationToken.None));
        _mainLoop = Task.Run(() => MainLoopAsync(_stopClaiming.Token), CancellationToken.None);
        LogStarted(SiloName, string.Join(", ", _typeArray), runtime.Poller.MaxJobsPerProcess);
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

                try
                {
                    await Task.Delay(failures.Delay, ct).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private void OnNotification(string? jobType)
    {
        if (jobType is null || _types.Contains(jobType))
        {
            _wake.Set();
        }
    }

    private async Task MainLoopAsync(CancellationToken ct)
    {
        var failures = new FailureStreak();
        while (!ct.IsCancellationRequested)
        {
            _wake.Reset();
            DateTimeOffset? nextDue = null;
            try
            {
                // One reading of the clock for both queries: a job falling due between two readings
                // would be neither claimed nor waited for.
                var now = runtime.Clock.Now;
                var limit = _capacity.NextBatchSize();
                if (limit > 0)
                {
                    var claimed = await ClaimAsync(limit, now, ct).ConfigureAwait(false);
                    if (claimed == limit)
                    {
                        failures.Reset();
                        continue; // a full batch: there may be more, drain at once
                    }

                    // Below capacity: sleep until the next due job. At capacity there is nothing to
                    // look for; freed capacity wakes the loop.
                    nextDue = await runtime.Queue.NextDueAsync(_typeArray, now, ct).ConfigureAwait(false);
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
                    LogPollFailed(failures.Count, ex);
                }

                await WaitAsync(null, failures.Delay, ct).ConfigureAwait(false);
                continue;
            }

            await WaitAsync(nextDue, runtime.Poller.MaxPollInterval, ct).ConfigureAwait(false);
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
            _capacity.Started(claims.Count);
            JobTelemetry.Claimed.Add(claims.Count);
            foreach (var claim in claims)
            {
                _inFlight[claim.Id] = claim.ClaimToken;
                _ = Task.Run(() => RunAsync(claim), CancellationToken.None); // a runner that blocks must not block the poller
            }
        }

        return claims.Count;
    }

    private async Task RunAsync(ClaimedJob claim)
    {
        try
        {
            await executor.ExecuteAsync(claim, shutdownSignal.Token).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // The outcome could not be written even after retrying (the database stayed away): hand
            // the job back so it runs elsewhere; fenced, so a run that did finish is not undone.
            LogDispatchFailed(claim.Id, claim.JobType, ex);
            try
            {
                await TransientRetry.RunAsync(
                    () => runtime.Queue.AbortAsync([(claim.Id, claim.ClaimToken)], $"run not recorded: {ex.GetType().Name}", runtime.Clock.Now, CancellationToken.None),
                    runtime.Poller.JobLostInterval,
                    (_, _) => { }).ConfigureAwait(false);
            }
            catch (Exception abortEx)
            {
                LogHandBackFailed(claim.Id, abortEx);
            }
        }
        finally
        {
            _inFlight.TryRemove(claim.Id, out _);
            if (_capacity.Finished())
            {
                _wake.Set();
            }
        }
    }

    // Sleeps until the next due time on the application clock, a wake signal, or maxWait on real time.
    private async Task WaitAsync(DateTimeOffset? nextDue, TimeSpan maxWait, CancellationToken ct)
    {
        using var done = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var waits = new List<Task>(3) { _wake.WaitTask, Task.Delay(maxWait, done.Token) };
        if (nextDue is { } due)
        {
            waits.Add(runtime.Clock.DelayUntil(due, done.Token));
        }

        try
        {
            await Task.WhenAny(waits).WaitAsync(ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // stopping
        }
        finally
        {
            await done.CancelAsync().ConfigureAwait(false);
        }
    }

    private async Task HeartbeatLoopAsync(CancellationToken ct)
    {
        var interval = runtime.Poller.JobLostInterval / 4;
        var failures = new FailureStreak();
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(failures.Count == 0 ? interval : failures.Delay, ct).ConfigureAwait(false);
                var live = _inFlight.Select(kv => (kv.Key, kv.Value)).ToList();
                await runtime.Queue.HeartbeatAsync(live, ct).ConfigureAwait(false);

                // The fallback for hung runners, on database time: every silo checks the types it
                // runs (the statement is atomic, so the first one to see a lost job takes it).
                var lost = await runtime.Queue.RescueLostAsync(_typeArray, runtime.Poller.JobLostInterval, runtime.Clock.Now, ct).ConfigureAwait(false);
                foreach (var (id, type) in lost)
                {
                    JobTelemetry.Rescued.Add(1);
                    LogLost(id, type, runtime.Poller.JobLostInterval);
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
        var deadline = DateTime.UtcNow + runtime.Poller.ShutdownTimeout;
        while (!_inFlight.IsEmpty && DateTime.UtcNow < deadline)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(20)).ConfigureAwait(false);
        }

        // 3. Hand back what still runs: pending and due now, for another silo.
        var remaining = _inFlight.Select(kv => (kv.Key, kv.Value)).ToList();
        if (remaining.Count > 0)
        {
            try
            {
                var handedBack = await runtime.Queue.AbortAsync(remaining, "shutdown timeout", runtime.Clock.Now, CancellationToken.None).ConfigureAwait(false);
                LogHandedBack(handedBack, runtime.Poller.ShutdownTimeout);
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} ({JobType}): its run could not be recorded; handing it back.")]
    private partial void LogDispatchFailed(JobId jobId, string jobType, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Handing back job {JobId} failed; its heartbeat will stop and it will be rescued.")]
    private partial void LogHandBackFailed(JobId jobId, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Count} job(s) still ran after the shutdown timeout of {Timeout} and were handed back to pending.")]
    private partial void LogHandedBack(int count, TimeSpan timeout);

    [LoggerMessage(Level = LogLevel.Error, Message = "Handing back {Count} job(s) at shutdown failed; they will be rescued when this silo is declared dead.")]
    private partial void LogHandBackAtShutdownFailed(int count, Exception exception);
}
