using System.Globalization;
using Job.Client;
using Job.Common;
using Job.Dispatch;
using Job.Execution;
using Job.Maintenance;

namespace Job.Notifications;

/// <summary>
/// Routes the database's notifications inside one silo: pending work to the dispatcher, a running
/// job's cancel to the executor, ended jobs to whoever awaits them, and later work to the cluster's
/// scheduler when its leader lives on this silo. One per silo; the <see cref="JobNotificationListener"/>
/// feeds it.
/// </summary>
internal sealed class JobNotifications(JobProducer producer, JobExecutor executor, JobCompletionWaiters waiters, ClaimHeartbeat heartbeat)
{
    private Action<DateTimeOffset?>? _scheduler;
    private Action? _ticker;

    /// <summary>The channels a silo listens on.</summary>
    public static readonly string[] Channels = [JobChannels.Ready, JobChannels.Scheduled, JobChannels.Terminal, JobChannels.Cancel, JobChannels.Settings, JobChannels.Schedules];

    /// <summary>The cluster's scheduler, while the leader runs on this silo, takes the times jobs were
    /// scheduled for (null: unknown, look again) until the returned handle is disposed.</summary>
    public IDisposable AttachScheduler(Action<DateTimeOffset?> onScheduled)
    {
        Volatile.Write(ref _scheduler, onScheduled);
        return new Detach(() => Interlocked.CompareExchange(ref _scheduler, null, onScheduled));
    }

    /// <summary>The cluster's schedule ticker, while the leader runs on this silo, is told of every
    /// change to a recurring schedule until the returned handle is disposed.</summary>
    public IDisposable AttachTicker(Action onChanged)
    {
        Volatile.Write(ref _ticker, onChanged);
        return new Detach(() => Interlocked.CompareExchange(ref _ticker, null, onChanged));
    }

    public void Route(string channel, string? payload)
    {
        switch (channel)
        {
            case JobChannels.Ready:
            case JobChannels.Settings:
                producer.OnReady(string.IsNullOrEmpty(payload) ? null : payload);
                break;
            case JobChannels.Scheduled:
                Volatile.Read(ref _scheduler)?.Invoke(ParseMicros(payload));
                break;
            case JobChannels.Schedules:
                Volatile.Read(ref _ticker)?.Invoke();
                break;
            case JobChannels.Terminal:
                waiters.Notify(payload);
                break;
            case JobChannels.Cancel:
                if (Guid.TryParse(payload, out var id))
                {
                    executor.RequestCancel(id);
                }

                break;
        }
    }

    /// <summary>Notifications sent while the listener was away are lost: everybody looks again.</summary>
    public void OnListening()
    {
        producer.OnReady(null);
        Volatile.Read(ref _scheduler)?.Invoke(null);
        Volatile.Read(ref _ticker)?.Invoke();
        waiters.NotifyAll();
        heartbeat.Wake(); // it returns the runs whose cancel was requested meanwhile
    }

    /// <summary>A time in Unix microseconds, as the SQL functions write it; null when unreadable.</summary>
    public static DateTimeOffset? ParseMicros(string? payload) =>
        long.TryParse(payload, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var micros) && micros >= 0 && micros <= MaxMicros
            ? DateTimeOffset.UnixEpoch.AddTicks(micros * TicksPerMicrosecond)
            : null;

    private const long TicksPerMicrosecond = TimeSpan.TicksPerMillisecond / 1000;
    private static readonly long MaxMicros = (DateTimeOffset.MaxValue - DateTimeOffset.UnixEpoch).Ticks / TicksPerMicrosecond;

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
