using System.Diagnostics;
using Job.Silo.Embedded;
using Npgsql;

namespace Job.Tests.Cluster;

/// <summary>
/// A PostgreSQL server of the test class's own, so it can be restarted (pg_ctl stop -m fast, then
/// start on the same port and data) without breaking the other classes on the shared server.
/// </summary>
public sealed class DedicatedPostgres : IAsyncLifetime
{
    private LocalPostgres? _server;
    private int _databases;

    public LocalPostgres Server => _server ?? throw new InvalidOperationException("not started");

    public async Task InitializeAsync()
    {
        _server = await LocalPostgres.StartAsync(new LocalPostgresOptions
        {
            Fsync = false,
            PasswordAuthentication = true,
            StopWithOwnerProcess = true,
            ServerSettings =
            {
                ["max_connections"] = "400",
                ["shared_buffers"] = "128MB",
            },
        });
        await _server.CreateRoleAsync(Infrastructure.PostgresServer.AppRole, Infrastructure.PostgresServer.AppPassword);
    }

    /// <summary>A database owned by the test role (password login); the tests' own SQL searches Job's schema first.</summary>
    public async Task<string> CreateDatabaseAsync()
    {
        var cs = await Server.CreateDatabaseAsync($"crash_{Interlocked.Increment(ref _databases)}_{Guid.NewGuid():N}"[..40],
            new DatabaseOwner(Infrastructure.PostgresServer.AppRole, Infrastructure.PostgresServer.AppPassword));
        return new NpgsqlConnectionStringBuilder(cs) { SearchPath = "job,public" }.ConnectionString;
    }

    /// <summary>Stops the server with a fast shutdown (sessions cut), waits, starts it again on the same port.</summary>
    public async Task RestartAsync(TimeSpan down, Action<string> log)
    {
        var stopping = Stopwatch.StartNew();
        await PgCtlAsync("stop", "-m", "fast", "-w", "-t", "60");
        log($"PostgreSQL stopped (pg_ctl -m fast took {stopping.Elapsed.TotalSeconds:F1}s); down for {down.TotalSeconds:F0}s");
        await Task.Delay(down);
        var starting = Stopwatch.StartNew();
        await PgCtlAsync("start", "-l", Server.LogFile, "-w", "-t", "60");
        log($"PostgreSQL started again on port {Server.Port} ({starting.Elapsed.TotalSeconds:F1}s)");
        NpgsqlConnection.ClearAllPools();
    }

    private async Task PgCtlAsync(params string[] args)
    {
        var pgCtl = Path.Combine(Server.BinDirectory, "pg_ctl");
        var psi = Environment.IsPrivilegedProcess
            ? new ProcessStartInfo("runuser", ["-u", "postgres", "--", pgCtl])
            : new ProcessStartInfo(pgCtl);
        psi.ArgumentList.Add(args[0]);
        psi.ArgumentList.Add("-D");
        psi.ArgumentList.Add(Path.Combine(Server.DataDirectory, "pgdata"));
        foreach (var a in args.Skip(1))
        {
            psi.ArgumentList.Add(a);
        }

        psi.UseShellExecute = false;
        psi.RedirectStandardOutput = true;
        psi.RedirectStandardError = true;
        psi.RedirectStandardInput = true;
        psi.WorkingDirectory = Server.DataDirectory;
        psi.Environment["LC_MESSAGES"] = "C";
        using var p = Process.Start(psi)!;
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(90));
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"pg_ctl {string.Join(' ', args)} failed ({p.ExitCode}): {await stdout}{await stderr}");
        }
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            NpgsqlConnection.ClearAllPools();
            await _server.DisposeAsync();
        }
    }
}
