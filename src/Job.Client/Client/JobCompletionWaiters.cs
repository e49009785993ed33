using System.Collections.Concurrent;

namespace Job.Client;

/// <summary>
/// Who waits for which job to end in this process, so a <c>job_terminal</c> notification (which the
/// database sends for awaited jobs only) wakes them at once. Fed by whichever listener this process
/// has: the silo's, or the client's own.
/// </summary>
internal sealed class JobCompletionWaiters
{
    private readonly ConcurrentDictionary<Guid, ConcurrentDictionary<object, Action>> _waiting = new();

    /// <summary>Calls <paramref name="wake"/> whenever the job's end is announced, until disposed.</summary>
    public IDisposable Register(JobId id, Action wake)
    {
        var key = new object();
        _waiting.GetOrAdd(id.Value, _ => new ConcurrentDictionary<object, Action>())[key] = wake;
        return new Registration(this, id.Value, key);
    }

    public void Notify(string? payload)
    {
        if (Guid.TryParse(payload, out var id) && _waiting.TryGetValue(id, out var wakes))
        {
            foreach (var wake in wakes.Values)
            {
                wake();
            }
        }
    }

    /// <summary>Wakes everybody: notifications may have been lost (the listener reconnected).</summary>
    public void NotifyAll()
    {
        foreach (var wakes in _waiting.Values)
        {
            foreach (var wake in wakes.Values)
            {
                wake();
            }
        }
    }

    private void Remove(Guid id, object key)
    {
        if (_waiting.TryGetValue(id, out var wakes) && wakes.TryRemove(key, out _) && wakes.IsEmpty)
        {
            _waiting.TryRemove(new KeyValuePair<Guid, ConcurrentDictionary<object, Action>>(id, wakes));
        }
    }

    private sealed class Registration(JobCompletionWaiters owner, Guid id, object key) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                owner.Remove(id, key);
            }
        }
    }
}
