using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Npgsql;

namespace Job.Silo.Embedded;

/// <summary>
/// A private PostgreSQL server in a folder of its own on a loopback port, so tests and the demo cluster need no
/// preinstalled, configured database and never touch a server someone else runs on this machine (e.g. 5432).
/// As root (CI containers) the server runs as the <c>postgres</c> system user because initdb refuses root.
/// When the folder's server is already running (started by another process: a second silo,
/// deploy/local/run.sh), this attaches to it as it is: no setting is rewritten, and it is never stopped
/// (<see cref="Attached"/>). Only a server this instance started is ever stopped.
/// </summary>
public sealed class LocalPostgres : IAsyncDisposable
{
    internal const string PostgresUser = "postgres";
    private static readonly Regex DatabaseNamePattern = new("^[A-Za-z_][A-Za-z0-9_]{0,62}$", RegexOptions.CultureInvariant);

    private readonly LocalPostgresOptions _options;
    private readonly string _binDir;
    private readonly string? _runuser;
    private readonly string _pgData;
    private readonly string _socketDir;
    private readonly bool _ownsSocketDir;
    private readonly string _logFile;
    private readonly ConcurrentBag<string> _databaseConnectionStrings = new();
    private int _stopped;
    private int _disposed;
    private bool _startedServer;

    private LocalPostgres(LocalPostgresOptions options, string binDir, string? runuser, string root)
    {
        _options = options;
        _binDir = binDir;
        _runuser = runuser;
        DataDirectory = root;
        _pgData = Path.Combine(root, "pgdata");
        _logFile = Path.Combine(root, "postgres.log");
        var socketDir = Path.Combine(root, "run");
        // sun_path holds 108 bytes; "/.s.PGSQL.65535.lock" needs room too.
        if (Encoding.UTF8.GetByteCount(socketDir) + 21 > 100)
        {
            socketDir = Path.Combine("/tmp", "job-pg-sock-" + Guid.NewGuid().ToString("N")[..12]);
            _ownsSocketDir = true;
        }

        _socketDir = socketDir;
    }

    /// <summary>The folder this server owns (cluster in <c>pgdata/</c>, log in <c>postgres.log</c>).</summary>
    public string DataDirectory { get; }

    /// <summary>
    /// True when the server was already running in <see cref="DataDirectory"/> and this instance only connects
    /// to it: disposing leaves it running, and its settings are the ones whoever started it wrote.
    /// </summary>
    public bool Attached { get; private set; }

    /// <summary>The loopback port actually in use, which differs per start when a free port was picked.</summary>
    public int Port { get; private set; }

    /// <summary>The folder the PostgreSQL binaries were taken from, to make version mix-ups diagnosable.</summary>
    public string BinDirectory => _binDir;

    /// <summary>The server log; read it when a query fails for reasons the client error does not explain.</summary>
    public string LogFile => _logFile;

    /// <summary>
    /// Superuser connection to the <c>postgres</c> database over TCP (trust auth, no password), for administration
    /// such as creating per-test databases.
    /// </summary>
    public string ConnectionString { get; private set; } = "";

    /// <summary>
    /// Finds the server binaries the same way <see cref="StartAsync"/> does, so callers (e.g. tests) can skip or
    /// explain instead of failing; returns <c>null</c> when PostgreSQL is not installed.
    /// </summary>
    public static string? FindBinDirectory() => PostgresBinaries.Find(null, []);

    /// <summary>
    /// Initializes (unless reusing a kept cluster) and starts the server, returning once it accepts connections,
    /// so callers can connect immediately.
    /// </summary>
    /// <exception cref="PostgresNotInstalledException">No PostgreSQL server binaries were found.</exception>
    /// <exception cref="LocalPostgresException">initdb or the server failed; the message has the log tail.</exception>
    public static async Task<LocalPostgres> StartAsync(LocalPostgresOptions options, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var searched = new List<string>();
        var binDir = PostgresBinaries.Find(options.BinDirectory, searched) ?? throw new PostgresNotInstalledException(searched);

        string? runuser = null;
        if (!OperatingSystem.IsWindows() && Environment.IsPrivilegedProcess)
        {
            runuser = ToolProcess.FindExecutable("runuser", "/usr/sbin", "/sbin", "/usr/bin", "/bin")
                ?? throw new LocalPostgresException("Running as root requires 'runuser' (util-linux) to start PostgreSQL as the 'postgres' user, but it was not found.");
            var id = await ToolProcess.RunAsync("id", ["-u", PostgresUser], null, TimeSpan.FromSeconds(10), ct).ConfigureAwait(false);
            if (id.ExitCode != 0)
            {
                throw new LocalPostgresException(
                    "Running as root: PostgreSQL refuses to run as root and must run as the 'postgres' system user, which does not exist. " +
                    "Installing PostgreSQL ('apt-get install postgresql') creates it, or run as an ordinary user.");
            }
        }

        var createdTemp = options.DataDirectory is null;
        var root = createdTemp
            ? Path.Combine(OperatingSystem.IsWindows() ? Path.GetTempPath() : "/tmp", "job-pg-" + Guid.NewGuid().ToString("N")[..12])
            : Path.GetFullPath(options.DataDirectory!);

        var initialized = File.Exists(Path.Combine(root, "pgdata", "PG_VERSION"));
        if (!options.KeepData && Directory.Exists(root) && Directory.EnumerateFileSystemEntries(root).Any())
        {
            throw new LocalPostgresException(
                $"Data directory '{root}' is not empty and KeepData is false; refusing to use it because it would be deleted on dispose. " +
                "Set KeepData = true to reuse it, or pick an empty/new folder.");
        }

        var pg = new LocalPostgres(options, binDir, runuser, root);
        if (initialized && RunningServer.Find(pg._pgData) is { } running)
        {
            await pg.AttachAsync(running, ct).ConfigureAwait(false);
            return pg;
        }

        try
        {
            await pg.PrepareDirectoriesAsync(ct).ConfigureAwait(false);
            if (!initialized)
            {
                await pg.InitDbAsync(ct).ConfigureAwait(false);
            }

            await pg.StartServerAsync(ct).ConfigureAwait(false);
            if (options.StopWithOwnerProcess && !OperatingSystem.IsWindows())
            {
                await pg.StartWatchdogAsync(ct).ConfigureAwait(false);
            }

            return pg;
        }
        catch
        {
            await pg.CleanupAfterFailedStartAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task AttachAsync(RunningServer running, CancellationToken ct)
    {
        Attached = true;
        Port = running.Port;
        ConnectionString = AdminConnectionString(running.Host, running.Port);
        try
        {
            await WaitForConnectionsAsync(ct).ConfigureAwait(false);
        }
        catch (LocalPostgresException e)
        {
            Volatile.Write(ref _stopped, 1);
            throw new LocalPostgresException(
                $"A PostgreSQL server (pid {running.Pid}) is running on '{_pgData}' but does not accept connections on {running.Host}:{running.Port}; " +
                "it was not started here, so it is left alone. Stop it, or wait until it accepts connections.", e);
        }
    }

    /// <summary>
    /// Creates a database (or reuses it when it already exists, as with a kept demo cluster) and returns a
    /// connection string to it, so each test class or component can have its own isolated database.
    /// </summary>
    public Task<string> CreateDatabaseAsync(string name, CancellationToken ct = default) => CreateDatabaseAsync(name, null, ct);

    /// <summary>
    /// As <see cref="CreateDatabaseAsync(string, CancellationToken)"/>, owned by a role made with
    /// <see cref="CreateRoleAsync"/>: the connection string returned logs in as that role with its password.
    /// </summary>
    public async Task<string> CreateDatabaseAsync(string name, DatabaseOwner? owner, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!DatabaseNamePattern.IsMatch(name))
        {
            throw new ArgumentException("Database name must be a plain identifier: letters, digits and '_', at most 63 characters.", nameof(name));
        }

        ObjectDisposedException.ThrowIf(Volatile.Read(ref _stopped) != 0, this);
        var conn = new NpgsqlConnection(ConnectionString);
        await using (conn.ConfigureAwait(false))
        {
            await conn.OpenAsync(ct).ConfigureAwait(false);
            var check = new NpgsqlCommand("SELECT 1 FROM pg_database WHERE datname = @name", conn);
            await using (check.ConfigureAwait(false))
            {
                check.Parameters.AddWithValue("name", name);
                var exists = await check.ExecuteScalarAsync(ct).ConfigureAwait(false) is not null;
                if (!exists)
                {
                    var ownerClause = owner is { } o ? $" OWNER \"{ValidIdentifier(o.Role)}\"" : "";
                    var create = new NpgsqlCommand($"CREATE DATABASE \"{name}\"{ownerClause}", conn);
                    await using (create.ConfigureAwait(false))
                    {
                        try
                        {
                            await create.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                        }
                        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.DuplicateDatabase)
                        {
                            // Created concurrently by someone else: same outcome.
                        }
                    }
                }
            }
        }

        var builder = new NpgsqlConnectionStringBuilder(ConnectionString) { Database = name };
        if (owner is { } login)
        {
            builder.Username = login.Role;
            builder.Password = login.Password;
        }

        var cs = builder.ConnectionString;
        _databaseConnectionStrings.Add(cs);
        return cs;
    }

    private static string ValidIdentifier(string name) => DatabaseNamePattern.IsMatch(name)
        ? name
        : throw new ArgumentException("A role name must be a plain identifier: letters, digits and '_', at most 63 characters.", nameof(name));

    /// <summary>
    /// Creates a login role with a password (or sets the password of an existing one), for clients that
    /// must authenticate like production ones (see <see cref="LocalPostgresOptions.PasswordAuthentication"/>).
    /// </summary>
    public Task CreateRoleAsync(string name, string password, CancellationToken ct = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _stopped) != 0, this);
        return CreateRoleAsync(ConnectionString, name, password, ct);
    }

    /// <summary>As <see cref="CreateRoleAsync(string, string, CancellationToken)"/>, on any server, through a
    /// connection string of a role allowed to create roles.</summary>
    public static async Task CreateRoleAsync(string adminConnectionString, string name, string password, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(password);
        ValidIdentifier(name);
        var conn = new NpgsqlConnection(adminConnectionString);
        await using (conn.ConfigureAwait(false))
        {
            await conn.OpenAsync(ct).ConfigureAwait(false);
            // DDL takes no parameters: the server quotes the values into the statement (format %I, %L).
            var text = new NpgsqlCommand(
                "SELECT format(CASE WHEN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = @name) THEN 'ALTER ROLE %I LOGIN PASSWORD %L' ELSE 'CREATE ROLE %I LOGIN PASSWORD %L' END, @name::text, @password::text)",
                conn);
            string statement;
            await using (text.ConfigureAwait(false))
            {
                text.Parameters.AddWithValue("name", name);
                text.Parameters.AddWithValue("password", password);
                statement = (string)(await text.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
            }

            var create = new NpgsqlCommand(statement, conn);
            await using (create.ConfigureAwait(false))
            {
                await create.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Stops the server with a fast shutdown (open sessions are cut, data is checkpointed) so a kept cluster
    /// restarts without crash recovery. Safe to call more than once.
    /// </summary>
    public async Task StopAsync(CancellationToken ct = default)
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        ClearPools();
        if (_startedServer)
        {
            await StopServerAsync("fast", ct).ConfigureAwait(false);
        }
    }

    /// <summary>Stops the server (unless <see cref="Attached"/>) and deletes its folder unless
    /// <see cref="LocalPostgresOptions.KeepData"/> is set.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        try
        {
            await StopAsync().ConfigureAwait(false);
        }
        finally
        {
            DeleteFolders();
        }
    }

    private string PidFile => Path.Combine(_pgData, "postmaster.pid");

    private bool RunAsPostgresUser => _runuser is not null;

    private string Bin(string name) => Path.Combine(_binDir, OperatingSystem.IsWindows() ? name + ".exe" : name);

    private async Task PrepareDirectoriesAsync(CancellationToken ct)
    {
        CreatePrivateDirectory(DataDirectory);
        CreatePrivateDirectory(Path.Combine(DataDirectory, "run"));
        if (_ownsSocketDir)
        {
            CreatePrivateDirectory(_socketDir);
        }

        if (!RunAsPostgresUser)
        {
            return;
        }

        if (!OperatingSystem.IsWindows())
        {
            // The postgres user must be able to walk down to its folder (e.g. a DataDirectory under /root).
            for (var dir = Path.GetDirectoryName(DataDirectory); !string.IsNullOrEmpty(dir); dir = Path.GetDirectoryName(dir))
            {
                var mode = File.GetUnixFileMode(dir);
                if ((mode & UnixFileMode.OtherExecute) == 0)
                {
                    File.SetUnixFileMode(dir, mode | UnixFileMode.OtherExecute);
                }
            }
        }

        var targets = new List<string> { "-R", PostgresUser + ":", DataDirectory };
        if (_ownsSocketDir)
        {
            targets.Add(_socketDir);
        }

        var chown = await ToolProcess.RunAsync("chown", targets, null, TimeSpan.FromSeconds(60), ct).ConfigureAwait(false);
        if (chown.ExitCode != 0)
        {
            throw new LocalPostgresException($"chown of '{DataDirectory}' to the postgres user failed: {chown.Output}");
        }
    }

    private static void CreatePrivateDirectory(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
        }
        else
        {
            Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    private async Task InitDbAsync(CancellationToken ct)
    {
        var args = new List<string>
        {
            "-D", _pgData, "-U", PostgresUser, "--auth=trust", "--encoding=UTF8", "--no-locale", "--no-instructions",
        };
        if (!_options.Fsync)
        {
            args.Add("--no-sync");
        }

        var result = await RunPgAsync(Bin("initdb"), args, TimeSpan.FromMinutes(2), ct).ConfigureAwait(false);
        if (result.ExitCode != 0)
        {
            throw new LocalPostgresException($"initdb failed (exit code {result.ExitCode}) for '{_pgData}':{Environment.NewLine}{result.Output}");
        }
    }

    private async Task StartServerAsync(CancellationToken ct)
    {
        var autoPort = _options.Port == 0;
        var attempts = autoPort ? 5 : 1;
        var timeoutSeconds = Math.Max(1, (int)Math.Ceiling(_options.StartTimeout.TotalSeconds));
        for (var attempt = 1; ; attempt++)
        {
            Port = autoPort ? PickFreePort() : _options.Port;
            await WriteSettingsAsync(ct).ConfigureAwait(false);
            var logOffset = File.Exists(_logFile) ? new FileInfo(_logFile).Length : 0;
            var result = await RunPgAsync(
                Bin("pg_ctl"),
                ["start", "-D", _pgData, "-l", _logFile, "-w", "-t", timeoutSeconds.ToString(CultureInfo.InvariantCulture)],
                _options.StartTimeout + TimeSpan.FromSeconds(15),
                ct).ConfigureAwait(false);
            if (result.ExitCode == 0)
            {
                _startedServer = true;
                break;
            }

            var tail = ReadLogTail(logOffset);
            if (tail.Contains("lock file \"postmaster.pid\" already exists", StringComparison.Ordinal))
            {
                // Another process started a server on this folder meanwhile: it is not ours to stop.
                throw new LocalPostgresException(
                    $"Another PostgreSQL server started on '{_pgData}' at the same time; it was left alone. Start again to use it.");
            }

            // What pg_ctl may have left running (a slow start it gave up on) is ours: stop it.
            await StopServerAsync("immediate", CancellationToken.None).ConfigureAwait(false);
            var portTaken = tail.Contains("could not bind", StringComparison.OrdinalIgnoreCase)
                || tail.Contains("could not create any TCP/IP sockets", StringComparison.OrdinalIgnoreCase);
            if (portTaken && attempt < attempts)
            {
                continue;
            }

            throw new LocalPostgresException(
                $"PostgreSQL failed to start on 127.0.0.1:{Port} (pg_ctl exit code {result.ExitCode}, binaries {_binDir}, data {_pgData}).{Environment.NewLine}" +
                $"pg_ctl output:{Environment.NewLine}{result.Output}{Environment.NewLine}" +
                $"--- tail of {_logFile} ---{Environment.NewLine}{tail}");
        }

        ConnectionString = AdminConnectionString("127.0.0.1", Port);
        await WaitForConnectionsAsync(ct).ConfigureAwait(false);
    }

    private static string AdminConnectionString(string host, int port) => new NpgsqlConnectionStringBuilder
    {
        Host = host,
        Port = port,
        Username = PostgresUser,
        Database = "postgres",
        Pooling = true,
        MinPoolSize = 0,
        MaxPoolSize = 100,
        ConnectionIdleLifetime = 30,
        Timeout = 15,
        IncludeErrorDetail = true,
    }.ConnectionString;

    private async Task WaitForConnectionsAsync(CancellationToken ct)
    {
        // pg_ctl -w already waited for "ready"; this confirms TCP + auth work before callers rely on it.
        var deadline = DateTime.UtcNow + _options.StartTimeout;
        var cs = new NpgsqlConnectionStringBuilder(ConnectionString) { Pooling = false, Timeout = 5 }.ConnectionString;
        while (true)
        {
            try
            {
                var conn = new NpgsqlConnection(cs);
                await using (conn.ConfigureAwait(false))
                {
                    await conn.OpenAsync(ct).ConfigureAwait(false);
                    var cmd = new NpgsqlCommand("SELECT 1", conn);
                    await using (cmd.ConfigureAwait(false))
                    {
                        await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false);
                    }
                }

                return;
            }
            catch (Exception e) when (e is NpgsqlException or SocketException or TimeoutException && DateTime.UtcNow < deadline)
            {
                await Task.Delay(100, ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is NpgsqlException or SocketException or TimeoutException)
            {
                throw new LocalPostgresException(
                    $"PostgreSQL started but does not accept connections on 127.0.0.1:{Port}: {e.Message}{Environment.NewLine}" +
                    $"--- tail of {_logFile} ---{Environment.NewLine}{ReadLogTail(0)}", e);
            }
        }
    }

    private async Task WriteSettingsAsync(CancellationToken ct)
    {
        var includePath = Path.Combine(_pgData, ServerConfigFiles.IncludeFileName);
        await File.WriteAllTextAsync(includePath, ServerConfigFiles.Settings(_options, Port, _socketDir), ct).ConfigureAwait(false);

        var hbaPath = Path.Combine(_pgData, "pg_hba.conf");
        await File.WriteAllTextAsync(hbaPath, ServerConfigFiles.HostBasedAuthentication(_options), ct).ConfigureAwait(false);

        var mainConf = Path.Combine(_pgData, "postgresql.conf");
        var includeLine = $"include '{ServerConfigFiles.IncludeFileName}'";
        var conf = await File.ReadAllTextAsync(mainConf, ct).ConfigureAwait(false);
        if (!conf.Contains(includeLine, StringComparison.Ordinal))
        {
            await File.AppendAllTextAsync(mainConf, $"\n{includeLine}\n", ct).ConfigureAwait(false);
        }

        if (RunAsPostgresUser)
        {
            var chown = await ToolProcess.RunAsync("chown", [PostgresUser + ":", includePath, mainConf, hbaPath], null, TimeSpan.FromSeconds(30), ct).ConfigureAwait(false);
            if (chown.ExitCode != 0)
            {
                throw new LocalPostgresException($"chown of '{includePath}' failed: {chown.Output}");
            }
        }
    }

    private Task StartWatchdogAsync(CancellationToken ct) => ServerWatchdog.StartAsync(
        PidFile,
        _options.KeepData ? "" : DataDirectory,
        _ownsSocketDir ? _socketDir : "",
        RunAsPostgresUser ? [_runuser!, "-u", PostgresUser, "--"] : [],
        [Bin("pg_ctl"), "stop", "-D", _pgData, "-m", _options.KeepData ? "fast" : "immediate", "-w"],
        ct);

    private async Task StopServerAsync(string mode, CancellationToken ct)
    {
        if (!File.Exists(PidFile))
        {
            return;
        }

        var result = await RunPgAsync(Bin("pg_ctl"), ["stop", "-D", _pgData, "-m", mode, "-w", "-t", "60"], TimeSpan.FromSeconds(75), ct).ConfigureAwait(false);
        if (result.ExitCode != 0 && mode != "immediate" && File.Exists(PidFile))
        {
            await RunPgAsync(Bin("pg_ctl"), ["stop", "-D", _pgData, "-m", "immediate", "-w", "-t", "60"], TimeSpan.FromSeconds(75), ct).ConfigureAwait(false);
        }
    }

    private async Task CleanupAfterFailedStartAsync()
    {
        try
        {
            Volatile.Write(ref _stopped, 1);
            if (_startedServer)
            {
                await StopServerAsync("immediate", CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Best effort: the original failure matters more.
        }

        DeleteFolders();
    }

    private void DeleteFolders()
    {
        if (_ownsSocketDir)
        {
            TryDelete(_socketDir);
        }

        if (!_options.KeepData)
        {
            TryDelete(DataDirectory);
        }
    }

    private static void TryDelete(string dir)
    {
        for (var i = 0; i < 5 && Directory.Exists(dir); i++)
        {
            try
            {
                Directory.Delete(dir, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Thread.Sleep(100);
            }
        }
    }

    private void ClearPools()
    {
        // Pooled connections to a stopped server would break the next server that reuses the port.
        foreach (var cs in _databaseConnectionStrings.Append(ConnectionString).Where(s => s.Length > 0))
        {
            using var conn = new NpgsqlConnection(cs);
            NpgsqlConnection.ClearPool(conn);
        }
    }

    private string ReadLogTail(long fromOffset, int maxLines = 40)
    {
        try
        {
            using var fs = new FileStream(_logFile, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            var start = Math.Max(fromOffset, fs.Length - 64 * 1024);
            fs.Seek(Math.Max(0, start), SeekOrigin.Begin);
            using var reader = new StreamReader(fs);
            var lines = reader.ReadToEnd().Split('\n');
            return string.Join('\n', lines.TakeLast(maxLines)).TrimEnd();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"(log not readable: {e.Message})";
        }
    }

    private static int PickFreePort() => global::Job.Hosting.FreePorts.Take(1)[0];

    private Task<ToolResult> RunPgAsync(string file, IReadOnlyList<string> args, TimeSpan timeout, CancellationToken ct)
    {
        if (!RunAsPostgresUser)
        {
            return ToolProcess.RunAsync(file, args, DataDirectory, timeout, ct);
        }

        var wrapped = new List<string> { "-u", PostgresUser, "--", file };
        wrapped.AddRange(args);
        return ToolProcess.RunAsync(_runuser!, wrapped, DataDirectory, timeout, ct);
    }
}
