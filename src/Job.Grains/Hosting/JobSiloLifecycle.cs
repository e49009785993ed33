using System.Diagnostics.Metrics;
using Job.Claims;
using Job.Completion;
using Job.Dispatch;
using Job.Execution;
using Job.Maintenance;
using Job.Notifications;
using Job.Storage;
using Job.Telemetry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Runtime;

namespace Job.Hosting;

/// <summary>
/// Ties the runtime to the silo's lifecycle. Before the silo joins: migrations (the Orleans tables
/// included) and the one-cluster-per-database check. Once it is active: the notification listener,
/// the declarations in code (schedules, limits: <see cref="JobDeclarations"/>, before any claim),
/// the claim heartbeat, the membership watcher (which also keeps the cluster's leader active) and,
/// unless the crate-style facade starts it later, the dispatcher. At stop, before the silo stops
/// serving: the dispatcher stops claiming (the claim in progress completes), the runs are told and
/// given the shutdown timeout, what still runs is handed back, and every outcome on its way to the
/// database is written before anything else stops.
/// </summary>
internal sealed partial class JobSiloLifecycle(
    JobRuntime runtime,
    JobProducer producer,
    JobExecutor executor,
    JobCompleter completer,
    JobNotificationListener listener,
    ClaimHeartbeat heartbeat,
    MembershipWatcher watcher,
    ClusterGuard guard,
    QueueDepthGauge depth,
    ClaimLedger ledger,
    JobRegistry registry,
    JobDeclarations declarations,
    ILocalSiloDetails silo,
    IOptions<ClusterOptions> cluster,
    ILogger<JobSiloLifecycle> logger) : ILifecycleParticipant<ISiloLifecycle>
{
    // How long shutdown waits, beyond the runs' own timeout, for outcomes on their way to the database.
    private static readonly TimeSpan s_drainAtLeast = TimeSpan.FromSeconds(5);

    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();
    private readonly List<Task> _background = [];
    private bool _polling;
    private Task? _shutdown;
    private IDisposable? _running;

    public void Participate(ISiloLifecycle lifecycle)
    {
        lifecycle.Subscribe(nameof(JobSiloLifecycle) + ".Prepare", ServiceLifecycleStage.First, PrepareAsync);
        lifecycle.Subscribe(nameof(JobSiloLifecycle) + ".Run", ServiceLifecycleStage.Active, StartAsync, _ => ShutdownAsync());
    }

    /// <summary>Starts claiming and running jobs (once).</summary>
    /// <exception cref="InvalidOperationException">Already started, or shut down.</exception>
    public void StartPolling()
    {
        lock (_gate)
        {
            if (_shutdown is not null)
            {
                throw new InvalidOperationException("Polling cannot start after shutdown.");
            }

            if (_polling)
            {
                throw new InvalidOperationException("Polling has already started; StartPollAsync may be called once.");
            }

            _polling = true;
        }

        var address = silo.SiloAddress;
        producer.Start(new SiloIdentity(
            address.ToParsableString(),
            runtime.Options.UsePostgresClustering ? cluster.Value.ClusterId : null,
            address.Endpoint.Address.ToString(),
            address.Endpoint.Port,
            address.Generation));

        // The job types and declared schedules are known (and fixed) once polling starts: their counters start at zero.
        JobTelemetry.StartSeries(registry.TypeNames, declarations.ScheduleNames);
    }

    /// <summary>The orderly stop (idempotent; safe when polling never started).</summary>
    public Task ShutdownAsync()
    {
        lock (_gate)
        {
            return _shutdown ??= ShutdownCoreAsync();
        }
    }

    private async Task PrepareAsync(CancellationToken ct)
    {
        if (runtime.Options.ExecMigrations ?? runtime.Options.DataSource is null)
        {
            var applied = await JobMigrations.RunAsync(runtime.DataSource, runtime.Context.Schema, ct).ConfigureAwait(false);
            if (applied.Count > 0)
            {
                LogMigrated(string.Join(", ", applied), runtime.Context.Schema.Name);
            }
        }

        await guard.CheckAsync(ct).ConfigureAwait(false);
    }

    private async Task StartAsync(CancellationToken ct)
    {
        var siloName = silo.SiloAddress.ToParsableString();
        _running = JobTelemetry.ObserveRunning(() => [new Measurement<long>(ledger.Executing, new KeyValuePair<string, object?>(JobTelemetry.TagSilo, siloName))]);
        depth.Start();
        lock (_gate)
        {
            _background.Add(Task.Run(() => listener.RunAsync(_stop.Token), CancellationToken.None));
            _background.Add(Task.Run(() => heartbeat.RunAsync(_stop.Token), CancellationToken.None));
            _background.Add(Task.Run(() => watcher.RunAsync(_stop.Token), CancellationToken.None));
        }

        if (runtime.Options.StartPollingWithSilo)
        {
            await declarations.ApplyAsync(registry, ct).ConfigureAwait(false);
            StartPolling();
        }
    }

    private async Task ShutdownCoreAsync()
    {
        bool polling;
        lock (_gate)
        {
            polling = _polling;
        }

        if (polling)
        {
            await producer.StopAsync().ConfigureAwait(false);
            await executor.ShutdownAsync().ConfigureAwait(false);
            var drainFor = runtime.Options.ShutdownTimeout > s_drainAtLeast ? runtime.Options.ShutdownTimeout : s_drainAtLeast;
            if (!await completer.DrainAsync(drainFor).ConfigureAwait(false))
            {
                LogOutcomesUnwritten(drainFor);
            }
        }

        _running?.Dispose();
        depth.Dispose();
        await _stop.CancelAsync().ConfigureAwait(false);
        List<Task> background;
        lock (_gate)
        {
            background = [.. _background];
        }

        await Task.WhenAll(background).ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Applied database migrations to schema {Schema}: {Migrations}.")]
    private partial void LogMigrated(string migrations, string schema);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Some run outcomes were still being written {Wait} after the runs ended; their jobs will be rescued when this silo is declared dead.")]
    private partial void LogOutcomesUnwritten(TimeSpan wait);
}
