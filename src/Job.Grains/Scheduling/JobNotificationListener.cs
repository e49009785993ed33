using Job.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Job.Scheduling;

/// <summary>
/// Holds one connection per silo in LISTEN on the runtime's channels and hands each notification to
/// <see cref="JobNotifications"/>, so a committed spawn wakes the pollers at once without busy
/// polling. It reconnects with capped backoff and, after every (re)connect, tells everybody to look
/// again (notifications sent while it was away are lost).
/// </summary>
internal sealed partial class JobNotificationListener(JobRuntime runtime, JobNotifications notifications, ILogger<JobNotificationListener> logger)
{
    public async Task RunAsync(CancellationToken ct)
    {
        var failures = new FailureStreak();
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await using var connection = await runtime.DataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
                connection.Notification += (_, e) => Route(e.Channel, e.Payload);
                await using (var listen = new NpgsqlCommand(
                    $"LISTEN {JobNotifications.ExecutionChannel}; LISTEN {JobNotifications.ScheduledChannel}; LISTEN {JobNotifications.TerminalChannel}",
                    connection))
                {
                    await listen.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                }

                var previousFailures = failures.Count;
                if (failures.Reset())
                {
                    LogReconnected(previousFailures);
                }

                notifications.OnListening();
                while (!ct.IsCancellationRequested)
                {
                    await connection.WaitAsync(ct).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                if (failures.Fail())
                {
                    LogListenFailed(failures.Count, ex);
                }

                if (!await failures.BackOffAsync(ct).ConfigureAwait(false))
                {
                    return;
                }
            }
        }
    }

    private void Route(string channel, string? payload)
    {
        switch (channel)
        {
            case JobNotifications.TerminalChannel:
                notifications.OnTerminal(payload);
                break;
            case JobNotifications.ScheduledChannel:
                notifications.OnScheduled(payload);
                break;
            default:
                notifications.OnExecution(payload);
                break;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Listening for job notifications failed ({Failures} in a row); retrying with backoff. Polling continues on its safety interval.")]
    private partial void LogListenFailed(int failures, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Listening for job notifications again after {Failures} failures.")]
    private partial void LogReconnected(int failures);
}
