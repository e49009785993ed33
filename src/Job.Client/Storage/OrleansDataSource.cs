using System.Data.Common;
using Npgsql;

namespace Job.Storage;

/// <summary>
/// The data source the Orleans ADO.NET providers (clustering, reminders, grain storage) use, in silos
/// and in plain Orleans clients (<c>UseJobCluster</c>): Job's pool, with every connection's search_path
/// set to Job's schema when it is opened.
/// The providers read their named queries with an unqualified
/// <c>SELECT QueryKey, QueryText FROM OrleansQuery</c>, and the queries name their tables unqualified,
/// so this is how the Orleans tables live in Job's schema too. It shares the pool rather than
/// rebuilding connections from a connection string, which an application's data source no longer
/// shows its password in. In the pool Job builds the setting stays with the connection when it goes
/// back (no session reset there, see <see cref="JobDataSources"/>): Job's own statements name their
/// schema, and every Orleans query sets it again when it opens.
/// </summary>
internal sealed class OrleansDataSource(NpgsqlDataSource inner, JobSchema schema) : DbDataSource
{
    private readonly string _setSearchPath = $"SET search_path TO {schema.Name}"; // a checked plain identifier

    public override string ConnectionString => inner.ConnectionString;

    protected override DbConnection CreateDbConnection() => inner.CreateConnection();

    protected override DbConnection OpenDbConnection()
    {
        var connection = inner.OpenConnection();
        try
        {
            using var command = new NpgsqlCommand(_setSearchPath, connection);
            command.ExecuteNonQuery();
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    protected override async ValueTask<DbConnection> OpenDbConnectionAsync(CancellationToken cancellationToken = default)
    {
        var connection = await inner.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await using var command = new NpgsqlCommand(_setSearchPath, connection);
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }
}
