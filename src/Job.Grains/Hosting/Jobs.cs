using Job.Execution;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;

namespace Job;

/// <summary>
/// The crate-style service: <see cref="InitAsync"/> starts an Orleans silo in this process, joined to
/// every other process on the same database; <see cref="AddInitializer{TConfig}"/> registers job types;
/// <see cref="StartPollAsync"/> starts running them; <see cref="ShutdownAsync"/> hands running work back.
/// For an application with its own host, use <c>siloBuilder.AddJobs(…)</c> instead: same runtime.
/// </summary>
public sealed partial class Jobs : IAsyncDisposable
{
    private readonly IHost _host;
    private readonly Hosting.JobRuntime _runtime;
    private readonly JobRegistry _registry;
    private readonly Hosting.JobSiloLifecycle _lifecycle;
    private readonly Hosting.JobSpawnerFactory _spawners;
    private readonly Hosting.JobDeclarations _declarations;
    private readonly Lock _gate = new();
    private Task? _shutdown;

    private Jobs(IHost host)
    {
        _host = host;
        var services = host.Services;
        _runtime = services.GetRequiredService<Hosting.JobRuntime>();
        _registry = services.GetRequiredService<JobRegistry>();
        _lifecycle = services.GetRequiredService<Hosting.JobSiloLifecycle>();
        _spawners = services.GetRequiredService<Hosting.JobSpawnerFactory>();
        _declarations = services.GetRequiredService<Hosting.JobDeclarations>();
        GrainFactory = services.GetRequiredService<IGrainFactory>();
        Client = services.GetRequiredService<JobClient>();
    }

    /// <summary>The application clock.</summary>
    public ClockHandle Clock => _runtime.Clock;

    /// <summary>The cluster, for calls to <see cref="IJobGrain"/> and <see cref="IJobTypeGrain"/>.</summary>
    public IGrainFactory GrainFactory { get; }

    /// <summary>The database side of the same runtime: find, await, cancel jobs (and spawn by type).</summary>
    public JobClient Client { get; }

    /// <summary>Cluster-wide flow control: pause and resume types, concurrency and rate limits, serial queue limits.</summary>
    public JobFlowControl FlowControl => Client.FlowControl;

    /// <summary>Recurring schedules at run time: create, change, pause, resume, remove; see their ticks.</summary>
    public JobSchedules Schedules => Client.Schedules;

    /// <summary>Operator actions: list, inspect, count, retry, cancel, delete, pause and resume (see <see cref="JobAdmin"/>).</summary>
    public JobAdmin Admin => Client.Admin;

    /// <summary>The silo's services (advanced use: logging, Orleans management).</summary>
    public IServiceProvider Services => _host.Services;

    /// <summary>
    /// Applies migrations (if configured) and starts this process's silo. No job runs until
    /// <see cref="StartPollAsync"/>. The silo listens on, and advertises to the others,
    /// <see cref="JobSvcConfig.AdvertisedAddress"/>, or by default this host's address on the route to
    /// the database (logged at start; a warning when only loopback was found for a remote database).
    /// </summary>
    /// <exception cref="Npgsql.NpgsqlException">The database cannot be reached or refuses the login
    /// (<see cref="Npgsql.PostgresException"/>, e.g. 28P01 for a wrong password): asked once before the
    /// silo starts, so that is this call's one error rather than failures logged by Orleans' start.</exception>
    public static async Task<Jobs> InitAsync(JobSvcConfig config, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(config);
        await ReachDatabaseAsync(config, cancellationToken).ConfigureAwait(false);
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Logging.ClearProviders();
        (config.ConfigureLogging ?? DefaultLogging)(builder.Logging);
        var advertised = config.AdvertisedAddress is { } configured
            ? new Hosting.AdvertisedAddress.Choice(configured, "set with JobSvcConfigBuilder.Endpoint", FellBack: false)
            : Hosting.AdvertisedAddress.ForDatabase(config.ConnectionString ?? config.DataSource!.ConnectionString);
        var free = Hosting.FreePorts.Take(2, advertised.Address);
        var siloPort = config.SiloPort == 0 ? free[0] : config.SiloPort;
        var gatewayPort = config.GatewayPort == 0 ? free[1] : config.GatewayPort;
        builder.UseOrleans(silo =>
        {
            silo.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = config.ClusterId;
                o.ServiceId = config.ServiceId;
            });
            silo.ConfigureEndpoints(advertised.Address, siloPort, gatewayPort, listenOnAnyHostAddress: false);
            silo.AddJobs(config.ApplyTo);
        });
        var host = builder.Build();
        var logger = host.Services.GetRequiredService<ILogger<Jobs>>();
        if (advertised.FellBack)
        {
            LogAdvertisedLoopback(logger, advertised.Address, siloPort, advertised.Reason);
        }
        else
        {
            LogAdvertised(logger, advertised.Address, siloPort, gatewayPort, advertised.Reason);
        }

        try
        {
            await host.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            host.Dispose();
            throw;
        }

        return new Jobs(host);
    }

    // One connection, not pooled (the runtime builds its own pools), from the application's data source when it gave one.
    private static async Task ReachDatabaseAsync(JobSvcConfig config, CancellationToken cancellationToken)
    {
        if (config.DataSource is { } dataSource)
        {
            await using var pooled = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            return;
        }

        var once = new Npgsql.NpgsqlConnectionStringBuilder(config.ConnectionString) { Pooling = false };
        await using var connection = new Npgsql.NpgsqlConnection(once.ConnectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
    }

    // What a developer sees with no setup: the runtime's own messages (a failing job above all) on the
    // console, Orleans and the framework only when something is wrong.
    private static void DefaultLogging(ILoggingBuilder logging)
    {
        logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss.fff ";
        });
        logging.SetMinimumLevel(LogLevel.Warning);
        logging.AddFilter("Job", LogLevel.Information);
        logging.AddFilter("Orleans", LogLevel.Warning);
        logging.AddFilter("Microsoft", LogLevel.Warning);
    }

    /// <summary>Registers a job type and returns its spawner. The type's cluster-wide limits declared in
    /// code (<see cref="IJobInitializer{TConfig}.Limits"/>) are applied in <see cref="StartPollAsync"/>.</summary>
    /// <exception cref="InvalidOperationException">Polling has started, or the type is already registered.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A declared limit is out of range.</exception>
    public JobSpawner<TConfig> AddInitializer<TConfig>(IJobInitializer<TConfig> initializer)
    {
        ArgumentNullException.ThrowIfNull(initializer);
        var type = initializer.JobType;
        var limits = initializer.Limits;
        limits?.Validate(type);
        _registry.Add(new RegisteredJobType<TConfig>(initializer, () => _spawners.Create<TConfig>(type)));
        _declarations.DeclareLimits(type, limits);
        return _spawners.Create<TConfig>(type);
    }

    /// <summary>
    /// Declares a recurring schedule in code (the crate had none: a job rescheduled itself). Every tick
    /// of its cron expression spawns one job of its type, exactly once across the cluster. Written in
    /// <see cref="StartPollAsync"/>: the latest change wins, so a restart with the same declaration leaves
    /// a run-time change (<see cref="Schedules"/>) alone and a changed declaration applies. Register the
    /// job type here too.
    /// </summary>
    /// <exception cref="InvalidCronExpressionException">Cronos cannot read the expression, or it never fires.</exception>
    /// <exception cref="UnknownTimeZoneException">The time zone is unknown on this machine.</exception>
    /// <exception cref="InvalidJobScheduleException">Another field is invalid.</exception>
    /// <exception cref="InvalidOperationException">Polling has started.</exception>
    public void AddRecurring<TConfig>(JobScheduleSpec<TConfig> spec) => _declarations.AddSchedule(Hosting.ScheduleDeclaration.For(spec));

    /// <summary>Retires a schedule an earlier version declared in code: removed in <see cref="StartPollAsync"/>.</summary>
    /// <exception cref="InvalidJobScheduleException">Not a valid schedule name.</exception>
    /// <exception cref="InvalidOperationException">Polling has started.</exception>
    public void RetireRecurring(string name) => _declarations.Retire(name);

    /// <summary>Applies the declarations in code (schedules, limits), then starts claiming and running
    /// the registered types. Once only.</summary>
    /// <exception cref="InvalidOperationException">Already started, or shut down; or a schedule names a
    /// type not registered here.</exception>
    public async Task StartPollAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        await _declarations.ApplyAsync(_registry, cancellationToken).ConfigureAwait(false);
        _lifecycle.StartPolling();
    }

    /// <summary>Reads a job with its history.</summary>
    /// <exception cref="JobNotFoundException">No job has this id.</exception>
    public Task<Job> FindAsync(JobId id, CancellationToken cancellationToken = default) => Client.FindAsync(id, cancellationToken);

    /// <summary>Waits until the job is terminal (woken by the database the moment the run ends).</summary>
    /// <exception cref="JobAwaitTimeoutException">It did not end within <paramref name="timeout"/>.</exception>
    public Task<JobSnapshot> AwaitCompletionAsync(JobId id, TimeSpan timeout) => Client.AwaitCompletionAsync(id, timeout);

    /// <summary>
    /// Stops claiming, signals running jobs, waits the shutdown timeout, hands back what still runs
    /// (pending, due now, an <c>execution_aborted</c> event), then stops the silo. Idempotent, and safe
    /// when polling never started.
    /// </summary>
    public Task ShutdownAsync(CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            _shutdown ??= ShutdownCoreAsync();
        }

        return _shutdown.WaitAsync(cancellationToken);
    }

    private async Task ShutdownCoreAsync()
    {
        await _lifecycle.ShutdownAsync().ConfigureAwait(false);
        await _host.StopAsync(CancellationToken.None).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await ShutdownAsync().ConfigureAwait(false);
        if (_host is IAsyncDisposable asyncDisposable)
        {
            await asyncDisposable.DisposeAsync().ConfigureAwait(false);
        }
        else
        {
            _host.Dispose();
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "This silo listens on and advertises {Address}:{SiloPort} (gateway port {GatewayPort}): {Reason}.")]
    private static partial void LogAdvertised(ILogger logger, System.Net.IPAddress address, int siloPort, int gatewayPort, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "This silo advertises {Address}:{SiloPort} because {Reason}: silos on other hosts cannot reach it. Set JobSvcConfigBuilder.Endpoint(address) to the address they reach this host at.")]
    private static partial void LogAdvertisedLoopback(ILogger logger, System.Net.IPAddress address, int siloPort, string reason);
}
