using Job.Storage;
using Npgsql;

namespace Job.Hosting;

/// <summary>
/// The data source a plain Orleans client's ADO.NET clustering reads the membership table through: the
/// application's <see cref="NpgsqlDataSource"/>, or one built from the connection string (owned here and
/// disposed with the host's services), with search_path set to Job's schema on every connection.
/// </summary>
internal sealed class JobClusterDataSource(NpgsqlDataSource dataSource, bool ownsDataSource, JobSchema schema) : IAsyncDisposable
{
    public OrleansDataSource Orleans { get; } = new(dataSource, schema);

    public ValueTask DisposeAsync() => ownsDataSource ? dataSource.DisposeAsync() : ValueTask.CompletedTask;
}
