using System.Collections.Concurrent;
using Job.Storage;

namespace Job.Scheduling;

/// <summary>
/// The claims this silo holds and the capacity they use. The poller adds what it claims; each run's
/// <see cref="Grains.JobGrain"/> releases its claim when the run ends. The poller heartbeats the
/// claims listed here and, at shutdown, hands back whatever is still listed. A claim is keyed by
/// job and fencing token, so a stale run of a job (rescued while it hung) and its new claim on this
/// same silo are two entries, and the end of one never releases the other. A claim is taken once,
/// either by its job grain to run it or by the poller to hand it back when the grain could not be
/// reached: never both, so a dispatch that times out after the run started cannot also give the job
/// to another silo.
/// </summary>
internal sealed class ClaimLedger(JobsOptions options)
{
    private readonly ConcurrentDictionary<(JobId Id, long Token), byte> _claims = new();
    private readonly ConcurrentDictionary<(JobId Id, long Token), byte> _untaken = new();
    private readonly CapacityTracker _capacity = new(options.MinJobsPerProcess, options.MaxJobsPerProcess);

    /// <summary>Set when the running count drops below the minimum: time to claim more.</summary>
    public WakeSignal RoomFreed { get; } = new();

    public bool IsEmpty => _claims.IsEmpty;

    /// <summary>The batch to claim now, or 0 while at least the minimum runs.</summary>
    public int NextBatchSize() => _capacity.NextBatchSize();

    public void Add(IReadOnlyList<ClaimedJob> claims)
    {
        _capacity.Started(claims.Count);
        foreach (var claim in claims)
        {
            _claims[(claim.Id, claim.ClaimToken)] = 0;
            _untaken[(claim.Id, claim.ClaimToken)] = 0;
        }
    }

    /// <summary>Takes a claim this silo holds, to run it or to hand it back; false when it was taken
    /// already or is not this silo's.</summary>
    public bool TryTake(ClaimedJob claim) => _untaken.TryRemove((claim.Id, claim.ClaimToken), out _);

    public void Release(ClaimedJob claim)
    {
        _untaken.TryRemove((claim.Id, claim.ClaimToken), out _);
        if (_claims.TryRemove((claim.Id, claim.ClaimToken), out _) && _capacity.Finished())
        {
            RoomFreed.Set();
        }
    }

    /// <summary>The claims held right now, with their fencing tokens.</summary>
    public List<(JobId Id, long Token)> Snapshot() => [.. _claims.Keys];
}
