using Job.Claims;
using Job.Common;
using Job.Execution;
using Job.Hosting;
using Job.Storage;
using Job.Telemetry;
using Microsoft.Extensions.Logging;

namespace Job.Dispatch;

/// <summary>
/// The silo's dispatcher: claims pending jobs of the types this silo runs and hands them to the
/// <see cref="JobExecutor"/>. It claims only for types known to have pending work — named by the
/// database's <c>job_ready</c> notifications (a spawn due now, the scheduler promoting due jobs, a
/// retry, a hand-back, a rescue), and found by a skip scan of the pending jobs when it (re)connects
/// and on its safety interval — so thousands of idle types and queues cost a claim nothing. Each
/// claim gives every such type a fair share of the free room (what one leaves goes to the others),
/// and one slot in ten of a type to its longest-waiting jobs whatever their priority. It claims
/// ahead (see <see cref="ClaimLedger"/>), so runners rarely wait for a claim's round trip. A claim
/// in progress when the silo stops is never cancelled: what the database committed is recorded
/// and handed on, then back.
/// </summary>
internal sealed partial class JobProducer(
    JobRuntime runtime,
    JobRegistry registry,
    ClaimLedger ledger,
    JobExecutor executor,
    ILogger<JobProducer> logger)
{
    // A type whose limits (cluster-wide concurrency, rate) kept its due jobs waiting is asked again
    // this soon, or at once when one of its runs ends anywhere (job_ready).
    private static readonly TimeSpan s_blockedRetry = TimeSpan.FromMilliseconds(250);

    private readonly Lock _gate = new();
    private readonly WakeSignal _wake = new();
    private readonly List<string> _active = [];
    private readonly HashSet<string> _activeSet = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _readyGeneration = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTime> _blocked = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _claimedCount = new(StringComparer.Ordinal);
    private HashSet<string> _registered = new(StringComparer.Ordinal);
    private SiloIdentity? _silo;
    private Task _loop = Task.CompletedTask;
    private volatile bool _stopping;
    private volatile bool _discover = true;
    private int _rotation;

    /// <summary>Closes the registry and starts claiming for this silo.</summary>
    public void Start(SiloIdentity silo)
    {
        registry.Seal();
        _registered = new HashSet<string>(registry.TypeNames, StringComparer.Ordinal);
        _silo = silo;
        executor.Start();
        _loop = Task.Run(LoopAsync);
        var names = registry.TypeNames;
        LogStarted(silo.Name, names.Length, string.Join(", ", names.Take(10)) + (names.Length > 10 ? ", …" : ""), runtime.Options.MaxJobsPerProcess);
    }

    /// <summary>Jobs of <paramref name="jobType"/> are pending (or, null, of any type).</summary>
    public void OnReady(string? jobType)
    {
        if (jobType is null)
        {
            _discover = true;
        }
        else if (_registered.Contains(jobType))
        {
            lock (_gate)
            {
                _readyGeneration[jobType] = _readyGeneration.GetValueOrDefault(jobType) + 1;
                _blocked.Remove(jobType);
                Activate(jobType);
            }
        }
        else
        {
            return;
        }

        _wake.Set();
    }

    /// <summary>Stops claiming: the claim in progress, if any, completes and is handed on.</summary>
    public async Task StopAsync()
    {
        _stopping = true;
        _wake.Set();
        await _loop.ConfigureAwait(false);
        LogStopped(_silo?.Name ?? "?");
    }

    private async Task LoopAsync()
    {
        var failures = new FailureStreak();
        var nextDiscovery = DateTime.UtcNow;
        while (!_stopping)
        {
            _wake.Reset();
            ledger.RoomFreed.Reset();
            try
            {
                if (_discover || DateTime.UtcNow >= nextDiscovery)
                {
                    _discover = false;
                    nextDiscovery = DateTime.UtcNow + runtime.Options.MaxPollInterval;
                    await DiscoverAsync().ConfigureAwait(false);
                }

                var room = ledger.NextClaimSize();
                if (room > 0 && await ClaimAsync(room).ConfigureAwait(false) > 0)
                {
                    failures.Reset();
                    continue; // claimed: look again at once (more may be pending, the room may allow more)
                }

                failures.Reset();
            }
            catch (Exception ex)
            {
                if (failures.Fail())
                {
                    LogClaimFailed(failures.Count, ex);
                }

                _discover = true;
                await Task.WhenAny(_wake.WaitTask, Task.Delay(failures.Delay)).ConfigureAwait(false);
                continue;
            }

            await WaitAsync(nextDiscovery).ConfigureAwait(false);
        }
    }

    private async Task DiscoverAsync()
    {
        var pending = await runtime.Queue.PendingTypesAsync(CancellationToken.None).ConfigureAwait(false);
        lock (_gate)
        {
            foreach (var type in pending)
            {
                if (_registered.Contains(type) && !_blocked.ContainsKey(type))
                {
                    Activate(type);
                }
            }
        }
    }

    private async Task<int> ClaimAsync(int room)
    {
        string[] types;
        int[] quotas;
        int[] oldest;
        long[] generations;
        lock (_gate)
        {
            var now = DateTime.UtcNow;
            foreach (var (type, retryAt) in _blocked.ToList())
            {
                if (retryAt <= now)
                {
                    _blocked.Remove(type);
                    Activate(type);
                }
            }

            if (_active.Count == 0)
            {
                return 0;
            }

            // Rotate who goes first, so equal shares do not always round the same way; no more types
            // than slots (each gets at least one), the others come first next time.
            var start = _rotation++ % _active.Count;
            types = [.. _active.Skip(start).Concat(_active.Take(start)).Take(room)];
            var share = (room + types.Length - 1) / types.Length;
            quotas = [.. types.Select(_ => share)];
            oldest = [.. types.Select(t => OldestShare(_claimedCount.GetValueOrDefault(t), share))];
            generations = [.. types.Select(t => _readyGeneration.GetValueOrDefault(t))];
        }

        ClaimResult result;
        using (var activity = JobTelemetry.StartClaim(room))
        {
            // Never cancelled: a claim the database committed must reach the ledger, or its jobs would
            // stay claimed by this silo until it is declared dead.
            result = await runtime.Queue.ClaimAsync(types, quotas, oldest, room, _silo!, runtime.Clock.Now, CancellationToken.None).ConfigureAwait(false);
            activity?.SetTag("job.claim.count", result.Claims.Count);
        }

        if (result.Claims.Count > 0)
        {
            ledger.Add(result.Claims);
            executor.Enqueue(result.Claims);
            JobTelemetry.Claimed.Add(result.Claims.Count);
            foreach (var claim in result.Claims)
            {
                if (claim.StartedAt is { } started)
                {
                    JobTelemetry.DispatchLag.Record(Math.Max(0, (started - claim.DueAt).TotalSeconds),
                        new KeyValuePair<string, object?>(JobTelemetry.TagJobType, claim.JobType));
                }
            }
        }

        lock (_gate)
        {
            var claimedPerType = result.Claims.GroupBy(c => c.JobType, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
            var blocked = new HashSet<string>(result.Blocked, StringComparer.Ordinal);
            for (var i = 0; i < types.Length; i++)
            {
                var type = types[i];
                var claimed = claimedPerType.GetValueOrDefault(type);
                _claimedCount[type] = _claimedCount.GetValueOrDefault(type) + claimed;
                if (blocked.Contains(type))
                {
                    Deactivate(type);
                    _blocked[type] = DateTime.UtcNow + s_blockedRetry;
                }
                else if (result.Claims.Count < room && claimed < quotas[i] && _readyGeneration.GetValueOrDefault(type) == generations[i])
                {
                    // Drained (the claim had room left, so every type was asked its fill): a
                    // notification brings it back.
                    Deactivate(type);
                }
            }
        }

        return result.Claims.Count;
    }

    // One slot in ten of a type's claims goes to its longest-waiting jobs, counted across claims, so
    // the rule holds whatever the batch size (a silo of one runner gives every tenth slot).
    private static int OldestShare(long claimedSoFar, int share) =>
        (int)(((claimedSoFar + share) / 10) - (claimedSoFar / 10));

    private async Task WaitAsync(DateTime nextDiscovery)
    {
        TimeSpan wait;
        lock (_gate)
        {
            var until = _blocked.Count == 0 ? nextDiscovery : new DateTime(Math.Min(nextDiscovery.Ticks, _blocked.Values.Min().Ticks), DateTimeKind.Utc);
            wait = until - DateTime.UtcNow;
        }

        if (wait <= TimeSpan.Zero || _stopping)
        {
            return;
        }

        await Task.WhenAny(_wake.WaitTask, ledger.RoomFreed.WaitTask, Task.Delay(wait)).ConfigureAwait(false);
    }

    private void Activate(string type)
    {
        if (_activeSet.Add(type))
        {
            _active.Add(type);
        }
    }

    private void Deactivate(string type)
    {
        if (_activeSet.Remove(type))
        {
            _active.Remove(type);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Job dispatcher on {Silo} started for {Count} job type(s) [{Types}], up to {Max} jobs at once.")]
    private partial void LogStarted(string silo, int count, string types, int max);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job dispatcher on {Silo} stopped claiming.")]
    private partial void LogStopped(string silo);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Claiming jobs failed ({Failures} in a row); retrying with capped backoff.")]
    private partial void LogClaimFailed(int failures, Exception exception);
}
