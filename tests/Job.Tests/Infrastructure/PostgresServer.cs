using Job.Silo.Embedded;
using Npgsql;

namespace Job.Tests.Infrastructure;

/// <summary>
/// One PostgreSQL server per test process, shared by all test classes (each gets its own database), because
/// starting a server costs about a second while creating a database costs milliseconds.
/// Set JOB_TEST_PG to a superuser connection string to use an existing server instead (e.g. a CI service).
/// The server checks passwords (scram-sha-256) for every role but the superuser, and the databases tests
/// get belong to <see cref="AppRole"/>, which must log in with its password, as applications do in
/// production: a connection path that drops the password fails here as it would there.
/// </summary>
public static class PostgresServer
{
    /// <summary>Environment variable holding a superuser connection string to an existing server.</summary>
    public const string ExternalServerVariable = "JOB_TEST_PG";

    private static readonly Lazy<Task<string>> AdminConnection =
        new(() => Task.Run(StartAsync), LazyThreadSafetyMode.ExecutionAndPublication);

    private static LocalPostgres? _local;

    /// <summary>The login role that owns the test databases; it needs its password.</summary>
    public const string AppRole = "job_app";

    /// <summary>The role's password, fresh for each test process.</summary>
    public static readonly string AppPassword = "pw-" + Guid.NewGuid().ToString("N");

    /// <summary>True when tests run against JOB_TEST_PG rather than a private server (databases are then dropped).</summary>
    public static bool IsExternal => !string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(ExternalServerVariable));

    /// <summary>Superuser connection string to the <c>postgres</c> database; starts the private server on first use.</summary>
    public static Task<string> GetAdminConnectionStringAsync() => AdminConnection.Value;

    /// <summary>Creates a fresh, uniquely named database and returns a connection string to it.</summary>
    public static async Task<string> CreateDatabaseAsync(string prefix = "job_test")
    {
        var admin = await GetAdminConnectionStringAsync().ConfigureAwait(false);
        var name = $"{prefix}_{Guid.NewGuid():N}";
        if (name.Length > 63)
        {
            name = name[..63];
        }

        await using (var conn = new NpgsqlConnection(admin))
        {
            await conn.OpenAsync().ConfigureAwait(false);
            await using var cmd = new NpgsqlCommand($"CREATE DATABASE \"{name}\" OWNER \"{AppRole}\"", conn);
            await cmd.ExecuteNonQueryAsync().ConfigureAwait(false);
        }

        // The tests' own SQL names Job's tables unqualified, so their connections search Job's schema
        // first. Job's statements are all qualified; ConnectionPathTests checks them with a plain
        // search_path and an application table named jobs in public.
        return new NpgsqlConnectionStringBuilder(admin) { Database = name, Username = AppRole, Password = AppPassword, SearchPath = "job,public" }.ConnectionString;
    }

    /// <summary>Drops a database, cutting its sessions; best effort, used to keep an external server tidy.</summary>
    public static async Task DropDatabaseAsync(string connectionString)
    {
        var name = new NpgsqlConnectionStringBuilder(connectionString).Database;
        if (string.IsNullOrEmpty(name))
        {
            return;
        }

        await using (var victim = new NpgsqlConnection(connectionString))
        {
            NpgsqlConnection.ClearPool(victim);
        }

        var admin = await GetAdminConnectionStringAsync().ConfigureAwait(false);
        await using var conn = new NpgsqlConnection(admin);
        await conn.OpenAsync().ConfigureAwait(false);
        await using var cmd = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{name.Replace("\"", "\"\"", StringComparison.Ordinal)}\" WITH (FORCE)", conn);
        await cmd.ExecuteNonQueryAsync().ConfigureAwait(false);
    }

    private static async Task<string> StartAsync()
    {
        var external = Environment.GetEnvironmentVariable(ExternalServerVariable);
        if (!string.IsNullOrWhiteSpace(external))
        {
            await LocalPostgres.CreateRoleAsync(external, AppRole, AppPassword).ConfigureAwait(false);
            return external;
        }

        var options = new LocalPostgresOptions
        {
            Fsync = false,
            PasswordAuthentication = true,
            // The watchdog stops the server and deletes its folder if the test host is killed.
            StopWithOwnerProcess = true,
            ServerSettings =
            {
                ["max_connections"] = "500",
                ["shared_buffers"] = "128MB",
            },
        };
        var server = await LocalPostgres.StartAsync(options, CancellationToken.None).ConfigureAwait(false);
        _local = server;
        await server.CreateRoleAsync(AppRole, AppPassword).ConfigureAwait(false);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Stop();
        return server.ConnectionString;
    }

    private static void Stop()
    {
        var server = Interlocked.Exchange(ref _local, null);
        if (server is null)
        {
            return;
        }

        try
        {
            server.DisposeAsync().AsTask().Wait(TimeSpan.FromSeconds(30));
        }
        catch (AggregateException)
        {
            // Process is exiting; the watchdog will finish the job if this failed.
        }
    }
}
