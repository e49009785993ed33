namespace Job.Scheduling;

/// <summary>
/// How many jobs this process runs, and how many it may claim next: the crate's hysteresis (claim
/// up to max only once fewer than min run) without its counter underflow: the count only goes down
/// for a job that was counted up, under a lock.
/// </summary>
internal sealed class CapacityTracker(int min, int max)
{
    private readonly Lock _lock = new();
    private int _running;

    public int Running
    {
        get { lock (_lock) { return _running; } }
    }

    /// <summary>The batch to claim now, or 0 while at least <c>min</c> jobs run.</summary>
    public int NextBatchSize()
    {
        lock (_lock)
        {
            return _running < min ? max - _running : 0;
        }
    }

    public void Started(int count)
    {
        lock (_lock)
        {
            _running += count;
        }
    }

    /// <summary>Counts a job down; true when this took the count below min (time to claim more).</summary>
    public bool Finished()
    {
        lock (_lock)
        {
            if (_running == 0)
            {
                throw new InvalidOperationException("A job finished that was never counted as started.");
            }

            _running--;
            return _running == min - 1;
        }
    }
}
