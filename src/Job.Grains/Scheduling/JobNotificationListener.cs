using Microsoft.Extensions.Logging;
using Npgsql;

namespace Job.Scheduling;

/// <summary>
/// Holds one connection in LISTEN on the <c>job_execution</c> channel and reports the job type in
/// each notification, so a committed spawn wakes the poller at once without busy polling. It
/// reconnects with capped backoff and reports a wake after every reconnect (notifications sent
/// while it was away are lost).
/// </summary>
internal sealed partial class JobNotificationListener(NpgsqlDataSource dataSource, Action<string?> onExecution, Action<string?> onTerminal, ILogger logger)
{
    /// <summary>Work may be due for a job type (payload: the type).</summary>
    public const string ExecutionChannel = "job_execution";

    /// <summary>An awaited job ended (payload: its id).</summary>
    public const string TerminalChannel = "job_terminal";

    public async Task RunAsync(CancellationToken ct)
    {
        var failures = new FailureStreak();
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await using var connection = await dataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
                connection.Notification += (_, e) =>
                {
                    if (e.Channel == TerminalChannel)
                    {
                        onTerminal(e.Payload);
                    }
                    else
                    {
                        onExecution(e.Payload);
                    }
                };
                await using (var listen = new NpgsqlCommand($"LISTEN {ExecutionChannel}; LISTEN {TerminalChannel}", connection))
                {
                    await listen.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                }

                var previousFailures = failures.Count;
                if (failures.Reset())
                {
                    LogReconnected(previousFailures);
                }

                onExecution(null);
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

                try
                {
                    await Task.Delay(failures.Delay, ct).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Listening for job notifications failed ({Failures} in a row); retrying with backoff. Polling continues on its safety interval.")]
    private partial void LogListenFailed(int failures, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Listening for job notifications again after {Failures} failures.")]
    private partial void LogReconnected(int failures);
}
