using Job.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Job.Scheduling;

/// <summary>
/// Holds one connection per silo in LISTEN on the runtime's channels and hands each notification to
/// <see cref="JobNotifications"/>, so a committed spawn wakes the pollers at once without busy
/// polling. It reconnects with capped backoff and, after every (re)connect, tells everybody to look
/// again (notifications sent while it was away are lost).
/// <para>
/// A connection whose peer vanished without a FIN or an RST (a NAT or load balancer that dropped an
/// idle connection's state, a host that lost power) never fails a wait: the silo would stay deaf,
/// due jobs would start only at the pollers' safety interval and type schedulers would miss later
/// work. So after <see cref="IdleCheckInterval"/> without a message the listener makes a round trip
/// on the connection with a timeout of its own (<see cref="RoundTripTimeoutSeconds"/>); without an
/// answer it drops the connection and reconnects, and everybody looks again. This is an explicit
/// round trip rather than Npgsql's <c>Keepalive</c> or <c>Tcp Keepalive</c> settings: those belong to
/// the data source, which may be the application's, and TCP keepalive is answered by the nearest TCP
/// endpoint (a proxy or a load balancer that terminates TCP), not by PostgreSQL.
/// </para>
/// </summary>
internal sealed partial class JobNotificationListener(JobRuntime runtime, JobNotifications notifications, ILogger<JobNotificationListener> logger)
{
    /// <summary>Silence on the LISTEN connection after which the listener checks that the server still
    /// answers. With <see cref="RoundTripTimeoutSeconds"/> and Npgsql's cancellation timeout (2 s by
    /// default) it bounds how long a half-open connection keeps the silo deaf, about 17 s, whatever
    /// the pollers' safety interval (which deployments raise to poll less); a round trip per 10 s of
    /// silence costs the server nothing.</summary>
    internal static readonly TimeSpan IdleCheckInterval = TimeSpan.FromSeconds(10);

    /// <summary>How long the check (and the LISTEN after a connect) may take before the connection is
    /// taken as dead; whole seconds, Npgsql's command timeout unit. A healthy server answers in
    /// milliseconds even under load; the connection string's command timeout (30 s by default) would
    /// keep the silo deaf six times as long.</summary>
    internal const int RoundTripTimeoutSeconds = 5;

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
                    connection) { CommandTimeout = RoundTripTimeoutSeconds })
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
                    if (!await connection.WaitAsync(IdleCheckInterval, ct).ConfigureAwait(false)
                        && !await AnswersAsync(connection, ct).ConfigureAwait(false))
                    {
                        // Half-open: counted as a failure so that the reconnect is logged too; the
                        // connection is disposed and the next round reconnects at once.
                        failures.Fail();
                        LogSilentConnection(IdleCheckInterval.TotalSeconds, RoundTripTimeoutSeconds);
                        break;
                    }
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

    // A round trip with its own timeout. On a half-open connection the query goes out and nothing
    // comes back: Npgsql times the command out, tries a cancel request on a new connection, and with
    // no answer on this one breaks it (clearing the pool's idle connections, likely dead the same way).
    private static async Task<bool> AnswersAsync(NpgsqlConnection connection, CancellationToken ct)
    {
        await using var ping = new NpgsqlCommand("SELECT 1", connection) { CommandTimeout = RoundTripTimeoutSeconds };
        try
        {
            await ping.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            return true;
        }
        catch (NpgsqlException ex) when (ex.InnerException is TimeoutException)
        {
            return false;
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "The job notification connection was silent for {IdleSeconds} s and did not answer a round trip within {TimeoutSeconds} s (a half-open connection: a NAT, load balancer or network that dropped it without closing it); reconnecting, and looking again for work announced meanwhile.")]
    private partial void LogSilentConnection(double idleSeconds, int timeoutSeconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Listening for job notifications again after {Failures} failures.")]
    private partial void LogReconnected(int failures);
}
