using Job.Silo.Embedded;
using Npgsql;

namespace Job.Tests.Infrastructure;

/// <summary>A fact that is skipped when no PostgreSQL server binaries are installed (e.g. CI using JOB_TEST_PG).</summary>
public sealed class LocalPostgresFactAttribute : FactAttribute
{
    /// <summary>Sets <see cref="FactAttribute.Skip"/> when the binaries are missing.</summary>
    public LocalPostgresFactAttribute()
    {
        if (LocalPostgres.FindBinDirectory() is null)
        {
            Skip = "PostgreSQL server binaries not installed (apt-get install postgresql)";
        }
    }
}

public sealed class LocalPostgresTests(DatabaseFixture fixture) : IClassFixture<DatabaseFixture>
{
    private static async Task<T?> ScalarAsync<T>(string connectionString, string sql)
    {
        await using var conn = new NpgsqlConnection(connectionString);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, conn);
        return (T?)await cmd.ExecuteScalarAsync();
    }

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var conn = new NpgsqlConnection(connectionString);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, conn);
        await cmd.ExecuteNonQueryAsync();
    }

    [Fact]
    public async Task Fixture_database_accepts_queries()
    {
        Assert.Equal(1, await ScalarAsync<int>(fixture.ConnectionString, "SELECT 1"));
        Assert.Equal(fixture.DatabaseName, await ScalarAsync<string>(fixture.ConnectionString, "SELECT current_database()"));
        Assert.StartsWith("job_test_", fixture.DatabaseName, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Two_fixtures_get_different_databases()
    {
        var a = new DatabaseFixture();
        var b = new DatabaseFixture();
        await Task.WhenAll(a.InitializeAsync(), b.InitializeAsync());
        try
        {
            Assert.NotEqual(a.DatabaseName, b.DatabaseName);
            await ExecuteAsync(a.ConnectionString, "CREATE TABLE only_in_a (id int)");
            Assert.Equal(1L, await ScalarAsync<long>(a.ConnectionString, "SELECT count(*) FROM pg_tables WHERE tablename = 'only_in_a'"));
            Assert.Equal(0L, await ScalarAsync<long>(b.ConnectionString, "SELECT count(*) FROM pg_tables WHERE tablename = 'only_in_a'"));
        }
        finally
        {
            await a.DisposeAsync();
            await b.DisposeAsync();
        }
    }

    [Fact]
    public async Task CreateDatabaseAsync_returns_a_fresh_database()
    {
        var cs = await fixture.CreateDatabaseAsync();
        var name = new NpgsqlConnectionStringBuilder(cs).Database;
        Assert.NotEqual(fixture.DatabaseName, name);
        Assert.Equal(name, await ScalarAsync<string>(cs, "SELECT current_database()"));
    }

    [Fact]
    public async Task Missing_binaries_explain_what_to_install()
    {
        var e = await Assert.ThrowsAsync<PostgresNotInstalledException>(() =>
            LocalPostgres.StartAsync(new LocalPostgresOptions { BinDirectory = "/nonexistent/pg/bin" }, CancellationToken.None));
        Assert.Contains("apt-get install postgresql", e.Message, StringComparison.Ordinal);
    }

    [LocalPostgresFact]
    public async Task Dispose_stops_server_and_deletes_temp_folder()
    {
        var pg = await LocalPostgres.StartAsync(new LocalPostgresOptions { Fsync = false }, CancellationToken.None);
        var dir = pg.DataDirectory;
        var cs = await pg.CreateDatabaseAsync("disposable");
        Assert.Equal("disposable", await ScalarAsync<string>(cs, "SELECT current_database()"));
        Assert.True(Directory.Exists(dir));

        await pg.DisposeAsync();

        Assert.False(Directory.Exists(dir));
        var noPool = new NpgsqlConnectionStringBuilder(pg.ConnectionString) { Pooling = false, Timeout = 2 }.ConnectionString;
        await Assert.ThrowsAnyAsync<Exception>(() => ScalarAsync<int>(noPool, "SELECT 1"));
    }

    [LocalPostgresFact]
    public async Task KeepData_survives_restart()
    {
        var dir = Path.Combine("/tmp", "job-pg-keep-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var options = new LocalPostgresOptions { DataDirectory = dir, KeepData = true, Fsync = false };
            await using (var first = await LocalPostgres.StartAsync(options, CancellationToken.None))
            {
                var cs = await first.CreateDatabaseAsync("demo");
                await ExecuteAsync(cs, "CREATE TABLE t (v text); INSERT INTO t VALUES ('kept')");
            }

            Assert.True(Directory.Exists(dir));
            await using (var second = await LocalPostgres.StartAsync(options, CancellationToken.None))
            {
                var cs = await second.CreateDatabaseAsync("demo"); // already exists: reused
                Assert.Equal("kept", await ScalarAsync<string>(cs, "SELECT v FROM t"));
            }
        }
        finally
        {
            if (Directory.Exists(dir))
            {
                Directory.Delete(dir, recursive: true);
            }
        }
    }

    /// <summary>
    /// Issue 10.14: a second LocalPostgres on a data directory whose server is already running (another
    /// silo's, deploy/local/run.sh's) attaches to that server: same port, no setting rewritten, and
    /// disposing it leaves the server running. It never stops a server it did not start.
    /// </summary>
    [LocalPostgresFact]
    public async Task A_second_instance_attaches_to_the_running_server_and_leaves_it_running()
    {
        var dir = Path.Combine("/tmp", "job-pg-attach-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var options = new LocalPostgresOptions { DataDirectory = dir, KeepData = true, Fsync = false };
            await using var first = await LocalPostgres.StartAsync(options, CancellationToken.None);
            var firstDb = await first.CreateDatabaseAsync("attach");
            await ExecuteAsync(firstDb, "CREATE TABLE t (v text); INSERT INTO t VALUES ('first')");
            var settingsFile = Path.Combine(dir, "pgdata", "job_local.conf");
            var settings = await File.ReadAllTextAsync(settingsFile);
            var hba = await File.ReadAllTextAsync(Path.Combine(dir, "pgdata", "pg_hba.conf"));

            await using (var second = await LocalPostgres.StartAsync(new LocalPostgresOptions { DataDirectory = dir, KeepData = true, Fsync = false }, CancellationToken.None))
            {
                Assert.Equal(first.Port, second.Port);
                Assert.Equal(1, await ScalarAsync<int>(NoPool(firstDb), "SELECT 1"));
                var secondDb = await second.CreateDatabaseAsync("attach");
                Assert.Equal("first", await ScalarAsync<string>(NoPool(secondDb), "SELECT v FROM t"));
            }

            Assert.Equal(settings, await File.ReadAllTextAsync(settingsFile));
            Assert.Equal(hba, await File.ReadAllTextAsync(Path.Combine(dir, "pgdata", "pg_hba.conf")));
            Assert.Equal("first", await ScalarAsync<string>(NoPool(firstDb), "SELECT v FROM t"));
            Assert.True(File.Exists(Path.Combine(dir, "pgdata", "postmaster.pid")), "the server the second instance attached to is still running");
        }
        finally
        {
            if (Directory.Exists(dir))
            {
                Directory.Delete(dir, recursive: true);
            }
        }
    }

    private static string NoPool(string connectionString) =>
        new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false, Timeout = 5 }.ConnectionString;

    [LocalPostgresFact]
    public async Task Server_settings_are_applied()
    {
        var options = new LocalPostgresOptions { Fsync = false, ServerSettings = { ["max_connections"] = "123", ["application_name"] = "it's quoted" } };
        await using var pg = await LocalPostgres.StartAsync(options, CancellationToken.None);
        Assert.Equal("123", await ScalarAsync<string>(pg.ConnectionString, "SHOW max_connections"));
        Assert.Equal("off", await ScalarAsync<string>(pg.ConnectionString, "SHOW fsync"));
        Assert.Equal("127.0.0.1", await ScalarAsync<string>(pg.ConnectionString, "SHOW listen_addresses"));
    }
}
