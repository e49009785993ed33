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
    private readonly ConcurrentDictionary<string, Action<DateTimeOffset?>> _schedulers = new(StringComparer.Ordinal);
    private Action<string?, DateTimeOffset?>? _poller;

    /// <summary>Work may be due. Payload: "type due-up-to" (jobs of the type due up to that time), or
    /// empty (anything may be due: a serial queue, whose next head may be of any type, moved on).</summary>
    public const string ExecutionChannel = "job_execution";

    /// <summary>A job of a type was given a later due time. Payload: "type earliest-due".</summary>
    public const string ScheduledChannel = "job_scheduled";

    /// <summary>An awaited job ended (payload: its id).</summary>
    public const string TerminalChannel = "job_terminal";

    /// <summary>The payload a scheduler sends: jobs of <paramref name="jobType"/> due up to <paramref name="upTo"/> may be claimed.</summary>
    public static string DuePayload(string jobType, DateTimeOffset upTo) =>
        string.Create(CultureInfo.InvariantCulture, $"{jobType} {(upTo - DateTimeOffset.UnixEpoch).Ticks / TicksPerMicrosecond}");

    /// <summary>Reads a payload of either channel: a job type and a time in Unix microseconds (the
    /// SQL statements write them as <c>extract(epoch …) * 1000000</c>); job type names never contain
    /// a space. Empty means any type; a missing or unreadable time is null.</summary>
    public static (string? JobType, DateTimeOffset? At) Parse(string? payload)
    {
        var space = payload?.IndexOf(' ', StringComparison.Ordinal) ?? -1;
        if (space < 0)
        {
            return (string.IsNullOrEmpty(payload) ? null : payload, null);
        }

        return long.TryParse(payload.AsSpan(space + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var micros)
            && micros <= MaxMicros
            ? (payload![..space], DateTimeOffset.UnixEpoch.AddTicks(micros * TicksPerMicrosecond))
            : (payload![..space], null);
    }

    private const long TicksPerMicrosecond = TimeSpan.TicksPerMillisecond / 1000;
    private static readonly long MaxMicros = (DateTimeOffset.MaxValue - DateTimeOffset.UnixEpoch).Ticks / TicksPerMicrosecond;

    /// <summary>The poller takes due-work notifications from now on (type null: anything may be due).</summary>
    public void AttachPoller(Action<string?, DateTimeOffset?> onDue) => Volatile.Write(ref _poller, onDue);

    /// <summary>A type scheduler on this silo takes the type's later-work notifications (with the
    /// earliest due time written, when known) until the returned handle is disposed.</summary>
    public IDisposable AttachScheduler(string jobType, Action<DateTimeOffset?> onChanged)
    {
        _schedulers[jobType] = onChanged;
        return new Detach(() => _schedulers.TryRemove(new KeyValuePair<string, Action<DateTimeOffset?>>(jobType, onChanged)));
    }

    public void OnExecution(string? payload)
    {
        var (type, upTo) = Parse(payload);
        Volatile.Read(ref _poller)?.Invoke(type, upTo);
    }

    public void OnScheduled(string? payload)
    {
        var (type, dueAt) = Parse(payload);
        if (type is not null && _schedulers.TryGetValue(type, out var changed))
        {
            changed(dueAt);
        }
    }

    public void OnTerminal(string? payload) => waiters.Notify(payload);

    /// <summary>Notifications sent while the listener was away are lost: everybody looks again.</summary>
    public void OnListening()
    {
        Volatile.Read(ref _poller)?.Invoke(null, null);
        foreach (var changed in _schedulers.Values)
        {
            changed(null);
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
