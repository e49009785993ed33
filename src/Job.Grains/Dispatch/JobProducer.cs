using System.Diagnostics;
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
/// ahead of short jobs (see <see cref="ClaimLedger"/>), so runners rarely wait for a claim's round trip. A claim
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
    // A type whose concurrency limit kept its due jobs waiting is asked again when one of its runs ends
    // anywhere (job_ready), or after this long should that notification be lost; a rate's next token
    // and another silo's claim of the type come with their own, shorter wait.
    private static readonly TimeSpan s_blockedRetry = TimeSpan.FromMilliseconds(250);

    // The time constant of the run-rate estimate that sizes the lookahead (SampleRate).
    private const double RateWindowSeconds = 0.1;

    // The lookahead covers at least this much of the runners' work (SampleRate).
    private const double LookaheadFloorSeconds = 0.05;

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

    // How fast runs end and how long a claim takes, smoothed: they size the lookahead (SampleRate,
    // ClaimLedger.SetLookahead).
    private long _rateSampledAt = Stopwatch.GetTimestamp();
    private long _rateSampledRuns;
    private double _runsPerSecond;
    private double _claimSeconds;

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

                SampleRate();
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
            if (_blocked.Count > 0)
            {
                RetryBlocked();
            }

            if (_active.Count == 0)
            {
                return 0;
            }

            // Rotate who goes first, so equal shares do not always round the same way; no more types
            // than slots (each gets at least one), the others come first next time.
            var count = Math.Min(_active.Count, room);
            var start = _rotation++ % _active.Count;
            var share = (room + count - 1) / count;
            types = new string[count];
            quotas = new int[count];
            oldest = new int[count];
            generations = new long[count];
            for (var i = 0; i < count; i++)
            {
                var type = _active[(start + i) % _active.Count];
                types[i] = type;
                quotas[i] = share;
                oldest[i] = OldestShare(_claimedCount.GetValueOrDefault(type), share);
                generations[i] = _readyGeneration.GetValueOrDefault(type);
            }
        }

        ClaimResult result;
        var sent = Stopwatch.GetTimestamp();
        using (var activity = JobTelemetry.StartClaim(room))
        {
            // Never cancelled: a claim the database committed must reach the ledger, or its jobs would
            // stay claimed by this silo until it is declared dead.
            result = await runtime.Queue.ClaimAsync(types, quotas, oldest, room, _silo!, runtime.Clock.Now, CancellationToken.None).ConfigureAwait(false);
            activity?.SetTag("job.claim.count", result.Claims.Count);
        }

        var seconds = Stopwatch.GetElapsedTime(sent).TotalSeconds;
        _claimSeconds = _claimSeconds == 0 ? seconds : (0.7 * _claimSeconds) + (0.3 * seconds);
        if (result.Claims.Count > 0)
        {
            ledger.Add(result.Claims);
            executor.Enqueue(result.Claims);
            JobTelemetry.Claimed.Add(result.Claims.Count);
            if (JobTelemetry.DispatchLag.Enabled)
            {
                foreach (var claim in result.Claims)
                {
                    if (claim.StartedAt is { } started)
                    {
                        JobTelemetry.DispatchLag.Record(Math.Max(0, (started - claim.DueAt).TotalSeconds),
                            new KeyValuePair<string, object?>(JobTelemetry.TagJobType, claim.JobType));
                    }
                }
            }
        }

        lock (_gate)
        {
            for (var i = 0; i < types.Length; i++)
            {
                var type = types[i];
                var claimed = types.Length == 1 ? result.Claims.Count : CountOf(result.Claims, type);
                _claimedCount[type] = _claimedCount.GetValueOrDefault(type) + claimed;
                if (result.Blocked.Count > 0 && BlockedFor(result.Blocked, type) is { } retryAfter)
                {
                    Deactivate(type);
                    _blocked[type] = DateTime.UtcNow + retryAfter;
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

    private void RetryBlocked()
    {
        var now = DateTime.UtcNow;
        List<string>? due = null;
        foreach (var (type, retryAt) in _blocked)
        {
            if (retryAt <= now)
            {
                (due ??= []).Add(type);
            }
        }

        foreach (var type in due ?? [])
        {
            _blocked.Remove(type);
            Activate(type);
        }
    }

    // How long a type the claim reported blocked waits (the shortest wait when reported twice), or null
    // when it was not blocked.
    private static TimeSpan? BlockedFor(IReadOnlyList<BlockedType> blocked, string type)
    {
        TimeSpan? wait = null;
        foreach (var b in blocked)
        {
            if (string.Equals(b.JobType, type, StringComparison.Ordinal))
            {
                var after = b.RetryAfter ?? s_blockedRetry;
                wait = wait is { } w && w < after ? w : after;
            }
        }

        return wait;
    }

    private static int CountOf(IReadOnlyList<ClaimedJob> claims, string type)
    {
        var n = 0;
        foreach (var claim in claims)
        {
            if (string.Equals(claim.JobType, type, StringComparison.Ordinal))
            {
                n++;
            }
        }

        return n;
    }

    // The runs that ended since the last sample, per second (smoothed), and with the claim's round trip
    // the lookahead: what the runners finish in two round trips, and no less than in LookaheadFloorSeconds
    // (so that jobs of tens of milliseconds are claimed in batches too). Whole runs only: a rate of a few
    // runs a second (long jobs) buffers nothing, and each job is claimed when a runner is free for it.
    private void SampleRate()
    {
        var now = Stopwatch.GetTimestamp();
        var elapsed = Stopwatch.GetElapsedTime(_rateSampledAt, now).TotalSeconds;
        if (elapsed < 0.002)
        {
            return;
        }

        var runs = ledger.RunsEnded;
        var rate = (runs - _rateSampledRuns) / elapsed;
        // Smoothed over the last tenth of a second or so, weighted by the time each sample covers: when
        // short jobs give way to long ones, the lookahead falls with the rate at once, instead of one
        // silo claiming far ahead on the short jobs' pace and holding long jobs that idle silos could run.
        // No run ended for a while: runs are not short (now), so nothing is claimed ahead.
        _runsPerSecond = runs == _rateSampledRuns && elapsed >= 0.02
            ? 0
            : _runsPerSecond + ((1 - Math.Exp(-elapsed / RateWindowSeconds)) * (rate - _runsPerSecond));
        _rateSampledAt = now;
        _rateSampledRuns = runs;
        var horizon = Math.Max(2 * _claimSeconds, LookaheadFloorSeconds);
        ledger.SetLookahead((int)Math.Min(int.MaxValue, Math.Floor(_runsPerSecond * horizon)));
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
            var until = nextDiscovery;
            foreach (var retryAt in _blocked.Values)
            {
                until = retryAt < until ? retryAt : until;
            }

            wait = until - DateTime.UtcNow;
        }

        if (wait <= TimeSpan.Zero || _stopping)
        {
            return;
        }

        // The delay's timer is cancelled when a signal comes first, so waits that end early leave none behind.
        using var timeout = new CancellationTokenSource();
        var delay = Task.Delay(wait, timeout.Token);
        await Task.WhenAny(_wake.WaitTask, ledger.RoomFreed.WaitTask, delay).ConfigureAwait(false);
        await timeout.CancelAsync().ConfigureAwait(false);
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
