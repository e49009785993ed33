using System.Threading.Channels;
using Job.Claims;

namespace Job.Execution;

/// <summary>
/// The claims waiting for a runner, taken round-robin by job type: each type's claims in claim order,
/// the types in turn. The dispatcher gives each type with due jobs a fair share of a claim, but claims
/// ahead; taken in claim order, a backlog claimed earlier would still take every slot that frees while
/// another type's claims wait behind it. Taken in turn, a type's share of the claims is its share of
/// the slots.
/// </summary>
internal sealed class ClaimBuffer
{
    // One item per buffered claim: the channel does the runners' waiting, the queues the order.
    private readonly Channel<byte> _ready = Channel.CreateUnbounded<byte>(new UnboundedChannelOptions { SingleReader = false });
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Queue<ClaimedJob>> _byType = new(StringComparer.Ordinal);
    private readonly List<string> _turns = [];
    private int _next;

    /// <summary>Buffers a claim; false once the buffer is closed (the silo is stopping).</summary>
    public bool TryAdd(ClaimedJob claim)
    {
        lock (_gate)
        {
            if (!_ready.Writer.TryWrite(0))
            {
                return false;
            }

            if (!_byType.TryGetValue(claim.JobType, out var queue))
            {
                queue = new Queue<ClaimedJob>();
                _byType[claim.JobType] = queue;
                _turns.Add(claim.JobType);
            }

            queue.Enqueue(claim);
            return true;
        }
    }

    /// <summary>The next claim, of the next type in turn; null once the buffer is closed and empty.</summary>
    public async ValueTask<ClaimedJob?> TakeAsync()
    {
        while (await _ready.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            if (_ready.Reader.TryRead(out _))
            {
                lock (_gate)
                {
                    return TakeNext();
                }
            }
        }

        return null;
    }

    /// <summary>Closes the buffer and returns what it held (never started).</summary>
    public List<ClaimedJob> Close()
    {
        var left = new List<ClaimedJob>();
        lock (_gate)
        {
            _ready.Writer.TryComplete();
            while (_ready.Reader.TryRead(out _))
            {
                left.Add(TakeNext());
            }
        }

        return left;
    }

    // Under the gate, with one item counted for it.
    private ClaimedJob TakeNext()
    {
        _next %= _turns.Count;
        var type = _turns[_next];
        var queue = _byType[type];
        var claim = queue.Dequeue();
        if (queue.Count == 0)
        {
            // An empty type leaves the rotation; the next type moves into its place, so _next stays.
            _byType.Remove(type);
            _turns.RemoveAt(_next);
        }
        else
        {
            _next++;
        }

        return claim;
    }
}
