using Microsoft.Extensions.Logging;
using Npgsql;

namespace Job.Common;

/// <summary>
/// Holds one connection in LISTEN on some channels and hands every notification to a callback. It
/// reconnects with capped backoff and, after every (re)connect, calls <c>onListening</c>, because
/// notifications sent while it was away are lost: whoever depends on them looks again.
/// <para>
/// A connection whose peer vanished without a FIN or an RST (a NAT or load balancer that dropped an
/// idle connection's state, a host that lost power) never fails a wait: the listener would stay deaf.
/// So after <see cref="IdleCheckInterval"/> without a message it makes a round trip on the
/// connection with a timeout of its own (<see cref="RoundTripTimeoutSeconds"/>); without an answer it
/// drops the connection and reconnects. This is an explicit round trip rather than Npgsql's
/// <c>Keepalive</c> or <c>Tcp Keepalive</c> settings: those belong to the data source, which may be
/// the application's, and TCP keepalive is answered by the nearest TCP endpoint (a proxy or a load
/// balancer that terminates TCP), not by PostgreSQL. Whatever dropped this connection likely dropped
/// the idle ones of the same database too: <c>onSilent</c> gets to clear the pools they wait in.
/// </para>
/// </summary>
internal sealed partial class PostgresListener(
    NpgsqlDataSource dataSource,
    IReadOnlyList<string> channels,
    Action<string, string?> onNotification,
    Action onListening,
    Action onSilent,
    ILogger logger)
{
    /// <summary>Silence after which the listener checks that the server still answers. With
    /// <see cref="RoundTripTimeoutSeconds"/> and Npgsql's cancellation timeout (2 s by default) it
    /// bounds how long a half-open connection keeps the listener deaf, about 17 s; a round trip per
    /// 10 s of silence costs the server nothing.</summary>
    internal static readonly TimeSpan IdleCheckInterval = TimeSpan.FromSeconds(10);

    /// <summary>How long the check (and the LISTEN after a connect) may take before the connection is
    /// taken as dead; whole seconds, Npgsql's command timeout unit.</summary>
    internal const int RoundTripTimeoutSeconds = 5;

    public async Task RunAsync(CancellationToken ct)
    {
        var listen = string.Join("; ", channels.Select(c => "LISTEN " + c));
        var failures = new FailureStreak();
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await using var connection = await dataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
                connection.Notification += (_, e) => onNotification(e.Channel, e.Payload);
                await using (var command = new NpgsqlCommand(listen, connection) { CommandTimeout = RoundTripTimeoutSeconds })
                {
                    await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                }

                var previousFailures = failures.Count;
                if (failures.Reset())
                {
                    LogReconnected(previousFailures);
                }

                onListening();
                while (!ct.IsCancellationRequested)
                {
                    if (!await connection.WaitAsync(IdleCheckInterval, ct).ConfigureAwait(false)
                        && !await AnswersAsync(connection, ct).ConfigureAwait(false))
                    {
                        // Half-open: counted as a failure so that the reconnect is logged too.
                        failures.Fail();
                        LogSilentConnection(IdleCheckInterval.TotalSeconds, RoundTripTimeoutSeconds);
                        onSilent();
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Listening for job notifications failed ({Failures} in a row); retrying with backoff. Work is still looked for on the safety interval.")]
    private partial void LogListenFailed(int failures, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The job notification connection was silent for {IdleSeconds} s and did not answer a round trip within {TimeoutSeconds} s (a half-open connection: a NAT, load balancer or network that dropped it without closing it); reconnecting, and looking again for work announced meanwhile.")]
    private partial void LogSilentConnection(double idleSeconds, int timeoutSeconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Listening for job notifications again after {Failures} failures.")]
    private partial void LogReconnected(int failures);
}
