using System.Collections.Concurrent;

namespace Job.Execution;

/// <summary>
/// The job grains on this silo that have callers awaiting completion, so a <c>job_terminal</c>
/// notification (sent by the database for awaited jobs only) wakes them at once.
/// </summary>
internal sealed class JobWaiters
{
    private readonly ConcurrentDictionary<Guid, Action> _waiting = new();

    public void Register(JobId id, Action wake) => _waiting[id.Value] = wake;

    public void Unregister(JobId id) => _waiting.TryRemove(id.Value, out _);

    public void Notify(string? payload)
    {
        if (Guid.TryParse(payload, out var id) && _waiting.TryGetValue(id, out var wake))
        {
            wake();
        }
    }
}
