using Job.Common;

namespace Job.Claims;

/// <summary>
/// The claims this silo holds, from the claim to the written outcome, and the room they leave. A
/// claim is <em>buffered</em> (claimed ahead, waiting for a runner), then <em>executing</em> (at most
/// <c>MaxJobsPerProcess</c> at once, the crate's meaning), then <em>completing</em> (its outcome on the
/// way to the database). The dispatcher claims ahead, so that a runner that frees up starts the next
/// job at once instead of waiting for a claim's round trip. The window (buffered and executing) is
/// <c>MaxJobsPerProcess</c> plus the lookahead: by default <c>MaxJobsPerProcess</c> more (twice the
/// maximum), and the dispatcher claims again once at least <c>MaxJobsPerProcess − MinJobsPerProcess</c>
/// of it is free (the crate's hysteresis, applied to the window). When runs are short the dispatcher
/// raises the lookahead to what the runners finish in two claim round trips (at most
/// <see cref="MaxExtraLookahead"/> more), and claims in batches of at least half the raise, so a silo of
/// no-op jobs is not bound by one claim of twice its maximum per round trip and the database sees
/// batches, not single rows; slow jobs keep the default. (The default buffer is a known cost for long
/// jobs on several silos: up to <c>MaxJobsPerProcess</c> of them may wait here while another silo has
/// a free slot; sizing it by the run rate too is the next step, docs/performance.md.) Every claim held is heartbeated; at shutdown the buffered ones and those still executing after
/// the timeout are handed back. Keyed by job and fencing token, so a stale run of a job and its new
/// claim on this same silo are two entries.
/// </summary>
internal sealed class ClaimLedger
{
    private readonly Lock _lock = new();
    private readonly Dictionary<(JobId Id, long Token), Stage> _claims = [];
    private readonly int _max;
    private readonly int _hysteresis;
    private int _window;
    private int _threshold;
    private int _buffered;
    private int _executing;
    private long _runsEnded;

    public ClaimLedger(JobsOptions options)
    {
        _max = options.MaxJobsPerProcess;
        _hysteresis = Math.Max(1, options.MaxJobsPerProcess - options.MinJobsPerProcess);
        _window = 2 * _max;
        _threshold = _hysteresis;
    }

    /// <summary>How far beyond the default lookahead (<c>MaxJobsPerProcess</c>) the dispatcher may claim ahead.</summary>
    public const int MaxExtraLookahead = 256;

    private enum Stage
    {
        Buffered,
        Executing,
        Completing,
    }

    /// <summary>Set when room for another claim opened up.</summary>
    public WakeSignal RoomFreed { get; } = new();

    /// <summary>Set when the last executing run ended (shutdown waits for it).</summary>
    public WakeSignal Drained { get; } = new();

    /// <summary>Runs executing now.</summary>
    public int Executing
    {
        get { lock (_lock) { return _executing; } }
    }

    /// <summary>Runs ended since the silo started (the dispatcher's measure of how fast runs go).</summary>
    public long RunsEnded => Interlocked.Read(ref _runsEnded);

    /// <summary>The window now: executing and buffered claims together.</summary>
    public int Window
    {
        get { lock (_lock) { return _window; } }
    }

    /// <summary>
    /// Sets how many claims may wait buffered beyond the running ones: at least <c>MaxJobsPerProcess</c>
    /// (the default) and at most <see cref="MaxExtraLookahead"/> more. Above the default, the dispatcher
    /// claims once half the extra is free (never less than the hysteresis).
    /// </summary>
    public void SetLookahead(int lookahead)
    {
        var extra = Math.Clamp(lookahead - _max, 0, MaxExtraLookahead);
        bool freed;
        lock (_lock)
        {
            _window = 2 * _max + extra;
            _threshold = Math.Max(_hysteresis, extra / 2);
            freed = _window - _buffered - _executing >= _threshold;
        }

        if (freed)
        {
            RoomFreed.Set();
        }
    }

    /// <summary>Claims held in any stage.</summary>
    public int Count
    {
        get { lock (_lock) { return _claims.Count; } }
    }

    /// <summary>How many to claim now: the free room, once it reaches the hysteresis threshold; else 0.</summary>
    public int NextClaimSize()
    {
        lock (_lock)
        {
            var room = _window - _buffered - _executing;
            return room >= _threshold ? room : 0;
        }
    }

    public void Add(IReadOnlyList<ClaimedJob> claims)
    {
        lock (_lock)
        {
            foreach (var claim in claims)
            {
                _claims[claim.Key] = Stage.Buffered;
            }

            _buffered += claims.Count;
        }
    }

    /// <summary>A runner takes a buffered claim; false when it was handed back meanwhile (shutdown).</summary>
    public bool TryStart(ClaimedJob claim)
    {
        lock (_lock)
        {
            if (!_claims.TryGetValue(claim.Key, out var stage) || stage != Stage.Buffered)
            {
                return false;
            }

            _claims[claim.Key] = Stage.Executing;
            _buffered--;
            _executing++;
            return true;
        }
    }

    /// <summary>The run returned (or was given up): its runner is free, its outcome is being written.</summary>
    public void RunEnded(ClaimedJob claim)
    {
        bool freed;
        bool drained;
        lock (_lock)
        {
            if (!_claims.TryGetValue(claim.Key, out var stage) || stage != Stage.Executing)
            {
                return;
            }

            _claims[claim.Key] = Stage.Completing;
            _executing--;
            _runsEnded++;
            freed = _window - _buffered - _executing >= _threshold;
            drained = _executing == 0;
        }

        if (freed)
        {
            RoomFreed.Set();
        }

        if (drained)
        {
            Drained.Set();
        }
    }

    /// <summary>The claim's outcome is written (or it was handed back): it leaves the ledger.</summary>
    public void Release(ClaimedJob claim)
    {
        bool freed;
        bool drained;
        lock (_lock)
        {
            if (!_claims.Remove(claim.Key, out var stage))
            {
                return;
            }

            switch (stage)
            {
                case Stage.Buffered:
                    _buffered--;
                    break;
                case Stage.Executing:
                    _executing--;
                    break;
            }

            freed = stage != Stage.Completing && _window - _buffered - _executing >= _threshold;
            drained = _executing == 0;
        }

        if (freed)
        {
            RoomFreed.Set();
        }

        if (drained)
        {
            Drained.Set();
        }
    }

    /// <summary>Moves every buffered claim to completing and returns it (shutdown hands them back).</summary>
    public List<ClaimedJob> TakeBuffered(IEnumerable<ClaimedJob> buffered)
    {
        var taken = new List<ClaimedJob>();
        lock (_lock)
        {
            foreach (var claim in buffered)
            {
                if (_claims.TryGetValue(claim.Key, out var stage) && stage == Stage.Buffered)
                {
                    _claims[claim.Key] = Stage.Completing;
                    _buffered--;
                    taken.Add(claim);
                }
            }
        }

        return taken;
    }

    /// <summary>The claims held right now, with their fencing tokens (the heartbeat's list).</summary>
    public List<(JobId Id, long Token)> Snapshot()
    {
        lock (_lock)
        {
            return [.. _claims.Keys];
        }
    }
}
