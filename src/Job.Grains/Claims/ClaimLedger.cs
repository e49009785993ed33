using Job.Common;

namespace Job.Claims;

/// <summary>
/// The claims this silo holds, from the claim to the written outcome, and the room they leave. A
/// claim is <em>buffered</em> (claimed ahead, waiting for a runner), then <em>executing</em> (at most
/// <c>MaxJobsPerProcess</c> at once, the crate's meaning), then <em>completing</em> (its outcome on the
/// way to the database). The window (buffered and executing) is <c>MaxJobsPerProcess</c> plus the
/// lookahead, which the dispatcher sizes by how fast runs end: what the runners finish in two claim
/// round trips, and no less than in 50 ms (at most <c>MaxJobsPerProcess</c> + <see cref="MaxExtraLookahead"/>).
/// Short jobs get a buffer, so a runner that frees up starts the next job at once instead of waiting
/// for a claim's round trip, and the database sees batches, not single rows. Long jobs get none: a
/// job is claimed when a runner is free for it, so it never waits in this silo's buffer while another
/// silo has a free slot. The dispatcher claims again once half the lookahead is free, at once when
/// there is none, and, with a lookahead of <c>MaxJobsPerProcess</c> or more, in batches of at least
/// <c>MaxJobsPerProcess − MinJobsPerProcess</c> (the crate's hysteresis). Every claim held is
/// heartbeated; at shutdown the buffered ones and those still executing after the timeout are handed
/// back. Keyed by job and fencing token, so a stale run of a job and its new claim on this same silo
/// are two entries.
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
        _window = _max;
        _threshold = ThresholdFor(0);
    }

    /// <summary>How far beyond <c>MaxJobsPerProcess</c> the lookahead may go (it is at most
    /// <c>MaxJobsPerProcess</c> + this).</summary>
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
    /// Sets how many claims may wait buffered beyond the running ones: from none (long jobs, and until
    /// runs have been seen to end) to <c>MaxJobsPerProcess</c> + <see cref="MaxExtraLookahead"/>.
    /// </summary>
    public void SetLookahead(int lookahead)
    {
        var ahead = Math.Clamp(lookahead, 0, _max + MaxExtraLookahead);
        bool freed;
        lock (_lock)
        {
            _window = _max + ahead;
            _threshold = ThresholdFor(ahead);
            freed = _window - _buffered - _executing >= _threshold;
        }

        if (freed)
        {
            RoomFreed.Set();
        }
    }

    // When to claim again: once half the lookahead is free, so the buffer is refilled before the runners
    // empty it; at once (one free runner) without a lookahead; and with a lookahead of at least the
    // maximum in batches of at least Max − Min, as before the lookahead could shrink.
    private int ThresholdFor(int ahead) =>
        ahead >= _max ? Math.Max(_hysteresis, (ahead - _max) / 2) : Math.Max(1, Math.Min(_hysteresis, (ahead + 1) / 2));

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
