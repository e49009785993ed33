using Job.Common;
using Npgsql;

namespace Job.Storage;

/// <summary>
/// Retries a database write through a transient failure (a restart, a dropped connection) with
/// capped backoff, up to a deadline. Only fenced writes go through here: retrying them is safe,
/// because a write whose claim went stale meanwhile changes nothing.
/// </summary>
internal static class TransientRetry
{
    public static async Task<T> RunAsync<T>(Func<Task<T>> write, TimeSpan giveUpAfter, Action<int, Exception> onRetry, CancellationToken ct = default)
    {
        var failures = new FailureStreak();
        var deadline = DateTime.UtcNow + giveUpAfter;
        while (true)
        {
            try
            {
                return await write().ConfigureAwait(false);
            }
            catch (Exception ex) when (IsTransient(ex) && DateTime.UtcNow < deadline && !ct.IsCancellationRequested)
            {
                if (failures.Fail())
                {
                    onRetry(failures.Count, ex);
                }

                await Task.Delay(failures.Delay, ct).ConfigureAwait(false);
            }
        }
    }

    /// <summary>True for failures that say nothing about the statement itself: the server or the
    /// connection went away, or is refusing connections for now.</summary>
    public static bool IsTransient(Exception ex) => ex switch
    {
        PostgresException pg => pg.IsTransient || pg.SqlState.StartsWith("08", StringComparison.Ordinal) || pg.SqlState.StartsWith("57P", StringComparison.Ordinal),
        NpgsqlException npgsql => npgsql.IsTransient || npgsql.InnerException is IOException or System.Net.Sockets.SocketException,
        TimeoutException or IOException or System.Net.Sockets.SocketException => true,
        _ => false,
    };
}
