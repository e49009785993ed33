using Job.Execution;
using Job.Scheduling;
using Microsoft.Extensions.Logging;
using Npgsql;
using Orleans.Runtime;

namespace Job.Hosting;

/// <summary>
/// Ties the runtime to the silo's lifecycle: migrations before anything reads the database (the
/// Orleans providers' tables included); the notification listener, the membership rescuer and the
/// poller once the silo is active; and the poller's orderly shutdown before the silo stops serving
/// grain calls.
/// </summary>
internal sealed partial class JobSiloLifecycle(
    JobRuntime runtime,
    JobPoller poller,
    JobNotificationListener listener,
    MembershipRescuer rescuer,
    ILogger<JobSiloLifecycle> logger) : ILifecycleParticipant<ISiloLifecycle>
{
    private readonly CancellationTokenSource _stop = new();
    private Task _rescuer = Task.CompletedTask;
    private Task _listener = Task.CompletedTask;

    public void Participate(ISiloLifecycle lifecycle)
    {
        lifecycle.Subscribe(nameof(JobSiloLifecycle) + ".Migrate", ServiceLifecycleStage.First, MigrateAsync);
        lifecycle.Subscribe(nameof(JobSiloLifecycle) + ".Run", ServiceLifecycleStage.Active, StartAsync, StopAsync);
    }

    private async Task MigrateAsync(CancellationToken ct)
    {
        if (runtime.Options.ExecMigrations ?? runtime.Options.DataSource is null)
        {
            var applied = await JobMigrations.RunAsync(runtime.DataSource, ct).ConfigureAwait(false);
            if (applied.Count > 0)
            {
                LogMigrated(string.Join(", ", applied));
            }
        }
    }

    private async Task StartAsync(CancellationToken ct)
    {
        _listener = Task.Run(() => listener.RunAsync(_stop.Token), CancellationToken.None);
        _rescuer = Task.Run(() => rescuer.RunAsync(_stop.Token), CancellationToken.None);
        if (runtime.Options.StartPollingWithSilo)
        {
            await poller.StartAsync(ct).ConfigureAwait(false);
        }
    }

    private async Task StopAsync(CancellationToken ct)
    {
        await poller.ShutdownAsync().ConfigureAwait(false);

        await _stop.CancelAsync().ConfigureAwait(false);
        await _rescuer.ConfigureAwait(false);
        await _listener.ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Applied database migrations: {Migrations}.")]
    private partial void LogMigrated(string migrations);
}
