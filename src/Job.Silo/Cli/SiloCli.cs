using System.Runtime.InteropServices;
using Job.Silo.Embedded;
using Job.Silo.Health;
using Job.Silo.Samples;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using Orleans.Configuration;

namespace Job.Silo.Cli;

/// <summary>
/// The command line: picks the verb, reads configuration, runs the checks that must fail before Orleans
/// starts, and maps every failure to one <c>error: …</c> line on stderr with exit code 1 (2 for usage).
/// </summary>
internal static class SiloCli
{
    public const int ExitOk = 0;
    public const int ExitError = 1;
    public const int ExitUsage = 2;

    private const string EmbeddedDatabaseName = "jobs";

    private const string Usage = """
        Usage: Job.Silo [verb] [--Key=Value ...]

        Verbs:
          run               start a silo (the default verb)
          migrate           apply missing database migrations, print what was applied, and exit
          migrate --print   print the SQL of every migration (no database needed)
          --help, -h        show this help

        Configuration comes from appsettings.json, then environment variables (':' written as '__',
        e.g. ConnectionStrings__Jobs, Orleans__SiloPort), then the command line (--Orleans:SiloPort=11112).
          ConnectionStrings:Jobs   PostgreSQL connection string; unset = start an embedded PostgreSQL
          Orleans:ClusterId        cluster id (job)              Orleans:ServiceId     service id (job)
          Orleans:SiloPort         silo port (11111)             Orleans:GatewayPort   gateway port (30000)
          Orleans:AdvertisedIP     address other silos use (127.0.0.1; non-loopback listens on all addresses)
          Jobs:MaxJobsPerProcess   (50)   Jobs:MinJobsPerProcess (30)
          Jobs:ShutdownTimeout     (00:00:05)   Jobs:JobLostInterval (00:05:00)
          Jobs:HistoryRetention    delete finished jobs this old, e.g. 7.00:00:00 (unset = keep forever)
          Jobs:MembershipProbeTimeout (00:00:03)   Jobs:MembershipPauseTolerance (00:00:12): how soon a
                                   crashed / a frozen silo is declared dead and its jobs run elsewhere
          Health:Port              HTTP port for GET /healthz and /readyz (0 = off)
          Embedded:DataDirectory   embedded PostgreSQL data (./.local/pg)   Embedded:Port (0 = free port)
          Demo:SpawnOnStart        spawn N demo.hello jobs (+ demo.flaky, demo.recurring) at start (0)
        """;

    /// <summary>Runs the command line and returns the process exit code.</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Any(a => a is "--help" or "-h" or "-?" or "help"))
        {
            Console.Out.WriteLine(Usage);
            return ExitOk;
        }

        var verb = args.Length > 0 && !args[0].StartsWith('-') && !args[0].Contains('=', StringComparison.Ordinal) ? args[0] : "run";
        var rest = args.Length > 0 && ReferenceEquals(verb, args[0]) ? args[1..] : args;
        var print = rest.Contains("--print");
        rest = [.. rest.Where(a => a != "--print")];
        if (verb is not ("run" or "migrate") || (print && verb != "migrate"))
        {
            Console.Error.WriteLine(print && verb == "run" ? "error: --print belongs to the migrate verb" : $"error: unknown verb '{verb}'");
            Console.Error.WriteLine(Usage);
            return ExitUsage;
        }

        // The configuration provider silently ignores what it cannot read; an option typo should not start a silo.
        if (rest.FirstOrDefault(a => a.StartsWith('-') && !a.StartsWith("--", StringComparison.Ordinal)) is { } option)
        {
            Console.Error.WriteLine($"error: unknown option '{option}' (settings are given as --Key=Value)");
            Console.Error.WriteLine(Usage);
            return ExitUsage;
        }

        if (print)
        {
            PrintMigrations();
            return ExitOk;
        }

        using var cancel = new ShutdownSignals();
        try
        {
            HostApplicationBuilder builder;
            try
            {
                builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
                {
                    Args = rest,
                    // appsettings.json ships next to the program; read it wherever we are started from.
                    ContentRootPath = AppContext.BaseDirectory,
                });
            }
            catch (FormatException ex)
            {
                Console.Error.WriteLine($"error: {ex.Message}");
                return ExitUsage;
            }

            var settings = SiloSettings.Read(builder.Configuration);
            return verb == "migrate"
                ? await MigrateAsync(settings, cancel.Token).ConfigureAwait(false)
                : await RunSiloAsync(builder, settings, cancel).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancel.Token.IsCancellationRequested)
        {
            return ExitOk;
        }
        catch (Exception ex)
        {
            Console.Error.WriteLine($"error: {StartupErrors.Describe(ex)}");
            return ExitError;
        }
    }

    private static void PrintMigrations()
    {
        var output = Console.Out;
        output.WriteLine("-- Job database schema: every migration in the order it applies.");
        output.WriteLine("-- The silo applies these itself (recording them in job_schema_migrations); print them to review");
        output.WriteLine("-- or to hand to a DBA.");
        foreach (var migration in JobMigrations.All)
        {
            output.WriteLine();
            output.WriteLine($"-- ==== Migration {migration.Name} (sha256 {migration.Checksum}) ====");
            output.WriteLine(migration.Sql.TrimEnd());
        }
    }

    private static async Task<int> MigrateAsync(SiloSettings settings, CancellationToken ct)
    {
        await using var embedded = await StartEmbeddedAsync(settings, ct).ConfigureAwait(false);
        var connectionString = settings.ConnectionString ?? embedded!.ConnectionString;
        var applied = await Preflight.MigrateAsync(connectionString, ct).ConfigureAwait(false);
        if (applied.Count == 0)
        {
            Console.Out.WriteLine("Database is up to date.");
        }

        foreach (var name in applied)
        {
            Console.Out.WriteLine($"applied {name}");
        }

        return ExitOk;
    }

    private static async Task<int> RunSiloAsync(HostApplicationBuilder builder, SiloSettings settings, ShutdownSignals signals)
    {
        var ct = signals.Token;
        var (siloPort, gatewayPort) = Preflight.CheckPorts(settings);
        await using var embedded = await StartEmbeddedAsync(settings, ct).ConfigureAwait(false);
        var connectionString = settings.ConnectionString ?? embedded!.ConnectionString;
        await Preflight.MigrateAsync(connectionString, ct).ConfigureAwait(false);

        ConfigureLogging(builder.Logging);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = settings.Poller.ShutdownTimeout + TimeSpan.FromSeconds(10));
        var readiness = new SiloReadiness();
        builder.Services.AddSingleton(readiness);
        builder.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(readiness);
        if (settings.HealthPort != 0)
        {
            // Registered before the silo, so it starts first (liveness holds while the silo starts) and stops last.
            builder.Services.AddHostedService(sp => ActivatorUtilities.CreateInstance<HealthEndpoint>(sp, settings.HealthPort, connectionString));
        }

        builder.UseOrleans(silo =>
        {
            silo.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = settings.ClusterId;
                o.ServiceId = settings.ServiceId;
            });
            silo.ConfigureEndpoints(settings.AdvertisedIP, siloPort, gatewayPort, listenOnAnyHostAddress: settings.ListenOnAnyHostAddress);
            silo.AddJobs(o =>
            {
                o.ConnectionString = connectionString;
                o.Apply(settings.Poller);
                o.HistoryRetention = settings.HistoryRetention;
                o.MembershipProbeTimeout = settings.MembershipProbeTimeout;
                o.MembershipPauseTolerance = settings.MembershipPauseTolerance;
                // Preflight has just applied them; the silo need not check again.
                o.ExecMigrations = false;
            });
        });
        builder.Services.AddJobInitializer<HelloJob>();
        builder.Services.AddJobInitializer<FlakyJob>();
        builder.Services.AddJobInitializer<RecurringJob>();
        if (settings.DemoSpawnOnStart > 0)
        {
            builder.Services.AddHostedService(sp => ActivatorUtilities.CreateInstance<DemoSpawner>(sp, settings.DemoSpawnOnStart));
        }

        using var host = builder.Build();
        // From here the host's console lifetime owns Ctrl-C and SIGTERM (graceful stop).
        signals.Release();
        try
        {
            await host.StartAsync(ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping.IsCancellationRequested)
        {
            await host.StopAsync(CancellationToken.None).ConfigureAwait(false);
            return ExitOk;
        }
        catch (Exception ex)
        {
            Console.Error.WriteLine($"error: {StartupErrors.Describe(ex, connectionString)}");
            await StopQuietlyAsync(host).ConfigureAwait(false);
            return ExitError;
        }

        await host.WaitForShutdownAsync(CancellationToken.None).ConfigureAwait(false);
        return ExitOk;
    }

    private static void ConfigureLogging(ILoggingBuilder logging)
    {
        logging.ClearProviders();
        logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss.fff ";
        });
    }

    private static async Task<EmbeddedDatabase?> StartEmbeddedAsync(SiloSettings settings, CancellationToken ct)
    {
        if (settings.ConnectionString is not null)
        {
            return null;
        }

        LocalPostgres server;
        try
        {
            server = await LocalPostgres.StartAsync(new LocalPostgresOptions
            {
                DataDirectory = settings.EmbeddedDataDirectory,
                Port = settings.EmbeddedPort,
                KeepData = true,
                Fsync = true,
            }, ct).ConfigureAwait(false);
        }
        catch (LocalPostgresException ex)
        {
            throw new SiloStartupException($"embedded PostgreSQL failed to start: {StartupErrors.Describe(ex)} (log: {Path.Combine(settings.EmbeddedDataDirectory, "postgres.log")})", ex);
        }

        try
        {
            var connectionString = await server.CreateDatabaseAsync(EmbeddedDatabaseName, ct).ConfigureAwait(false);
            var shown = new NpgsqlConnectionStringBuilder(connectionString);
            shown = new NpgsqlConnectionStringBuilder { Host = shown.Host, Port = shown.Port, Username = shown.Username, Database = shown.Database };
            Console.Out.WriteLine($"No ConnectionStrings:Jobs configured: started embedded PostgreSQL (data in {server.DataDirectory}): {shown.ConnectionString}");
            return new EmbeddedDatabase(server, connectionString);
        }
        catch
        {
            await server.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>The embedded server and the connection string of its job database; disposing stops the server.</summary>
    private sealed class EmbeddedDatabase(LocalPostgres server, string connectionString) : IAsyncDisposable
    {
        public string ConnectionString { get; } = connectionString;

        public ValueTask DisposeAsync() => server.DisposeAsync();
    }

    private static async Task StopQuietlyAsync(IHost host)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await host.StopAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Already reporting the start failure; a failing stop adds nothing the user can act on.
        }
    }

    /// <summary>Ctrl-C / SIGTERM before the host runs: cancel what is in progress (embedded start, migrations).</summary>
    private sealed class ShutdownSignals : IDisposable
    {
        private readonly CancellationTokenSource _cts = new();
        private readonly List<PosixSignalRegistration> _registrations;

        public ShutdownSignals()
        {
            _registrations =
            [
                PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal),
                PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal),
            ];
        }

        public CancellationToken Token => _cts.Token;

        public void Release()
        {
            foreach (var registration in _registrations)
            {
                registration.Dispose();
            }

            _registrations.Clear();
        }

        public void Dispose()
        {
            Release();
            _cts.Dispose();
        }

        private void OnSignal(PosixSignalContext context)
        {
            context.Cancel = true;
            _cts.Cancel();
        }
    }
}
