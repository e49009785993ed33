using System.Collections.Concurrent;
using System.Globalization;
using Job.Execution;

namespace Job.Scheduling;

/// <summary>
/// Routes the database's notifications inside one silo: work due now to the poller, work due later
/// to the type schedulers whose <see cref="Grains.JobTypeGrain"/> lives here, and ended jobs to the
/// job grains awaiting them. One per silo; the <see cref="JobNotificationListener"/> feeds it.
/// </summary>
internal sealed class JobNotifications(JobWaiters waiters)
{
    private readonly ConcurrentDictionary<string, Action> _schedulers = new(StringComparer.Ordinal);
    private Action<string?, DateTimeOffset?>? _poller;

    /// <summary>Work may be due for a job type. Payload: the type, or "type due-up-to" from its scheduler.</summary>
    public const string ExecutionChannel = "job_execution";

    /// <summary>A job of a type was given a later due time (payload: the type).</summary>
    public const string ScheduledChannel = "job_scheduled";

    /// <summary>An awaited job ended (payload: its id).</summary>
    public const string TerminalChannel = "job_terminal";

    /// <summary>The payload a scheduler sends: jobs of <paramref name="jobType"/> due up to <paramref name="upTo"/> may be claimed.</summary>
    public static string DuePayload(string jobType, DateTimeOffset upTo) =>
        string.Create(CultureInfo.InvariantCulture, $"{jobType} {upTo.UtcTicks}");

    /// <summary>Reads an execution payload; job type names never contain a space.</summary>
    public static (string? JobType, DateTimeOffset? UpTo) ParseExecution(string? payload)
    {
        var space = payload?.IndexOf(' ', StringComparison.Ordinal) ?? -1;
        if (space < 0)
        {
            return (string.IsNullOrEmpty(payload) ? null : payload, null);
        }

        return long.TryParse(payload.AsSpan(space + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var ticks)
            ? (payload![..space], new DateTimeOffset(ticks, TimeSpan.Zero))
            : (payload![..space], null);
    }

    /// <summary>The poller takes due-work notifications from now on (type null: anything may be due).</summary>
    public void AttachPoller(Action<string?, DateTimeOffset?> onDue) => Volatile.Write(ref _poller, onDue);

    /// <summary>A type scheduler on this silo takes the type's later-work notifications until the returned handle is disposed.</summary>
    public IDisposable AttachScheduler(string jobType, Action onChanged)
    {
        _schedulers[jobType] = onChanged;
        return new Detach(() => _schedulers.TryRemove(new KeyValuePair<string, Action>(jobType, onChanged)));
    }

    public void OnExecution(string? payload)
    {
        var (type, upTo) = ParseExecution(payload);
        Volatile.Read(ref _poller)?.Invoke(type, upTo);
    }

    public void OnScheduled(string? payload)
    {
        if (payload is not null && _schedulers.TryGetValue(payload, out var changed))
        {
            changed();
        }
    }

    public void OnTerminal(string? payload) => waiters.Notify(payload);

    /// <summary>Notifications sent while the listener was away are lost: everybody looks again.</summary>
    public void OnListening()
    {
        Volatile.Read(ref _poller)?.Invoke(null, null);
        foreach (var changed in _schedulers.Values)
        {
            changed();
        }
    }

    private sealed class Detach(Action detach) : IDisposable
    {
        private int _done;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _done, 1) == 0)
            {
                detach();
            }
        }
    }
}
