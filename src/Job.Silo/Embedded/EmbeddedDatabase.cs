using Job.Silo.Commands;
using Job.Worker;
using Npgsql;

namespace Job.Silo.Embedded;

/// <summary>
/// The job database on the embedded PostgreSQL, for running without a connection string: the server
/// in <c>Embedded:DataDirectory</c> (started here, or the one already running there, which is used as
/// it is and left running) and its database <c>jobs</c>. Disposing stops only a server started here.
/// </summary>
internal sealed class EmbeddedDatabase : IAsyncDisposable
{
    private const string DatabaseName = "jobs";

    private readonly LocalPostgres _server;

    private EmbeddedDatabase(LocalPostgres server, string connectionString)
    {
        _server = server;
        ConnectionString = connectionString;
    }

    /// <summary>The job database's connection string (the local superuser; the server trusts loopback).</summary>
    public string ConnectionString { get; }

    /// <summary>Starts (or attaches to) the server and makes sure the job database exists.</summary>
    /// <exception cref="JobWorkerStartupException">The server cannot be started or reached.</exception>
    public static async Task<EmbeddedDatabase> StartAsync(SiloSettings settings, CancellationToken cancellationToken)
    {
        LocalPostgres server;
        try
        {
            server = await LocalPostgres.StartAsync(new LocalPostgresOptions
            {
                DataDirectory = settings.EmbeddedDataDirectory,
                Port = settings.EmbeddedPort,
                KeepData = true,
                Fsync = true,
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is LocalPostgresException or PostgresNotInstalledException)
        {
            throw new JobWorkerStartupException(
                $"embedded PostgreSQL failed to start: {JobWorkerErrors.Describe(ex)} (log: {Path.Combine(settings.EmbeddedDataDirectory, "postgres.log")})", ex);
        }

        try
        {
            var connectionString = await server.CreateDatabaseAsync(DatabaseName, cancellationToken).ConfigureAwait(false);
            var shown = new NpgsqlConnectionStringBuilder(connectionString);
            shown = new NpgsqlConnectionStringBuilder { Host = shown.Host, Port = shown.Port, Username = shown.Username, Database = shown.Database };
            Console.Out.WriteLine(server.Attached
                ? $"No ConnectionStrings:Jobs configured: using the embedded PostgreSQL already running on {server.DataDirectory} (left running): {shown.ConnectionString}"
                : $"No ConnectionStrings:Jobs configured: started embedded PostgreSQL (data in {server.DataDirectory}): {shown.ConnectionString}");
            return new EmbeddedDatabase(server, connectionString);
        }
        catch
        {
            await server.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _server.DisposeAsync();
}
