using System.Collections.Concurrent;
using Npgsql;

namespace Job.Tests.Infrastructure;

/// <summary>
/// Gives a test class (via <c>IClassFixture&lt;DatabaseFixture&gt;</c>) its own empty database on the shared
/// server, so classes can run in parallel without seeing each other's rows or schema.
/// </summary>
public sealed class DatabaseFixture : IAsyncLifetime
{
    private readonly ConcurrentBag<string> _created = new();
    private string? _connectionString;

    /// <summary>Connection string to this fixture's database.</summary>
    public string ConnectionString =>
        _connectionString ?? throw new InvalidOperationException("DatabaseFixture is not initialized yet.");

    /// <summary>Name of this fixture's database (<c>job_test_…</c>).</summary>
    public string DatabaseName => new NpgsqlConnectionStringBuilder(ConnectionString).Database!;

    /// <summary>Creates another fresh database, for tests that need isolation from the rest of their class.</summary>
    public async Task<string> CreateDatabaseAsync()
    {
        var cs = await PostgresServer.CreateDatabaseAsync().ConfigureAwait(false);
        _created.Add(cs);
        return cs;
    }

    /// <inheritdoc />
    public async Task InitializeAsync() => _connectionString = await CreateDatabaseAsync().ConfigureAwait(false);

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        foreach (var cs in _created)
        {
            if (PostgresServer.IsExternal)
            {
                try
                {
                    await PostgresServer.DropDatabaseAsync(cs).ConfigureAwait(false);
                }
                catch (NpgsqlException)
                {
                    // Best effort: a leftover database on a test server is harmless.
                }
            }
            else
            {
                // The private server is thrown away at exit; just release pooled connections.
                await using var conn = new NpgsqlConnection(cs);
                NpgsqlConnection.ClearPool(conn);
            }
        }
    }
}
