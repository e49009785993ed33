using System.Globalization;
using Npgsql;
using NpgsqlTypes;

namespace Job.Storage;

/// <summary>
/// A cluster's membership lock, held: a PostgreSQL advisory lock scoped to a transaction that stays
/// open until <see cref="DisposeAsync"/> ends it. Nothing is written in that transaction; ending it
/// (or losing its connection, when the process dies) is what releases the lock.
/// </summary>
internal sealed class MembershipLock : IAsyncDisposable
{
    private readonly NpgsqlConnection _connection;
    private readonly NpgsqlTransaction _transaction;

    private MembershipLock(NpgsqlConnection connection, NpgsqlTransaction transaction)
    {
        _connection = connection;
        _transaction = transaction;
    }

    /// <summary>Waits up to <paramref name="wait"/> for the lock named <paramref name="key"/>.</summary>
    /// <param name="database">Job's database.</param>
    /// <param name="key">The lock's name (hashed to PostgreSQL's 64-bit advisory key).</param>
    /// <param name="wait">How long PostgreSQL lets this wait for the lock (its <c>lock_timeout</c>).</param>
    /// <param name="silent">How long the holder may send nothing before PostgreSQL ends its session,
    /// which releases the lock of a holder whose host is gone without closing its connection.</param>
    /// <param name="ct">Cancels the wait.</param>
    /// <exception cref="PostgresException">The wait ran out (<c>55P03</c>), or another database error.</exception>
    public static async Task<MembershipLock> TakeAsync(JobDatabase database, string key, TimeSpan wait, TimeSpan silent, CancellationToken ct)
    {
        var connection = await database.DataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
        try
        {
            var transaction = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);
            await using var cmd = database.Command(connection, transaction, RuntimeSql.MembershipTurn)
                .With("wait_ms", Milliseconds(wait), NpgsqlDbType.Text)
                .With("silent_ms", Milliseconds(silent), NpgsqlDbType.Text)
                .With("key", key, NpgsqlDbType.Text);
            await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            return new MembershipLock(connection, transaction);
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Ends the transaction, which releases the lock; a connection already lost has released it.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            await _transaction.RollbackAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException)
        {
            // The session ended (the silent-holder timeout, the database restarted): the lock went with it.
        }
        finally
        {
            await _transaction.DisposeAsync().ConfigureAwait(false);
            await _connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static string Milliseconds(TimeSpan span) => ((long)span.TotalMilliseconds).ToString(CultureInfo.InvariantCulture);
}
