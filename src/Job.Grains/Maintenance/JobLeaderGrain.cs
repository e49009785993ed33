using Job.Hosting;
using Job.Notifications;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Configuration;

namespace Job.Maintenance;

/// <summary>
/// The cluster's leader: one activation in the cluster, which runs the work that must happen once,
/// whatever silos start or die: the scheduler (<see cref="JobScheduler"/>: scheduled jobs become
/// pending when due), the recurring schedules' ticker (<see cref="ScheduleTicker"/>) and the housekeeping (<see cref="ClusterMaintenance"/>). Its one durable Orleans
/// reminder reactivates it on a live silo when its silo dies, and every silo's membership watcher
/// makes sure it is active as soon as a silo is declared dead, so the scheduler moves within seconds
/// rather than at the reminder's next tick. Nothing per job or per type is kept: idle types cost
/// nothing.
/// </summary>
[GrainType("job-leader")]
[CollectionAgeLimit(AlwaysActive = true)] // the cluster's clock: idle collection must not stop it between reminder ticks
internal sealed partial class JobLeaderGrain(
    JobRuntime runtime,
    JobNotifications notifications,
    IOptions<ClusterOptions> cluster,
    ILogger<JobLeaderGrain> logger) : Grain, IJobLeaderGrain, IRemindable
{
    private const string ReminderName = "job-leader";
    private static readonly TimeSpan s_reminderPeriod = TimeSpan.FromMinutes(1);

    private JobScheduler? _scheduler;
    private IDisposable? _schedulerSubscription;
    private ScheduleTicker? _ticker;
    private IDisposable? _tickerSubscription;
    private ClusterMaintenance? _maintenance;
    private IGrainTimer? _timer;
    private bool _reminderRegistered;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var scheduler = new JobScheduler(runtime, logger);
        _schedulerSubscription = notifications.AttachScheduler(scheduler.Changed);
        _scheduler = scheduler;
        scheduler.Start();
        var ticker = new ScheduleTicker(runtime, logger);
        _tickerSubscription = notifications.AttachTicker(ticker.Changed);
        _ticker = ticker;
        ticker.Start();
        _maintenance = new ClusterMaintenance(runtime, runtime.Options.UsePostgresClustering ? cluster.Value.ClusterId : null, logger);
        var period = ClusterMaintenance.Interval(runtime.Options);
        _timer = this.RegisterGrainTimer(ct => _maintenance.RunAsync(ct), new GrainTimerCreationOptions(period, period) { Interleave = true });
        LogActivated();
        return Task.CompletedTask;
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        _timer?.Dispose();
        _schedulerSubscription?.Dispose();
        _tickerSubscription?.Dispose();
        if (_scheduler is { } scheduler)
        {
            await scheduler.DisposeAsync();
        }

        if (_ticker is { } ticker)
        {
            await ticker.DisposeAsync();
        }
    }

    public async Task EnsureAsync()
    {
        if (!_reminderRegistered)
        {
            await this.RegisterOrUpdateReminder(ReminderName, s_reminderPeriod, s_reminderPeriod);
            _reminderRegistered = true;
        }
    }

    public Task ReceiveReminder(string reminderName, TickStatus status)
    {
        _reminderRegistered = true;
        _scheduler?.Changed(null); // a backstop for a lost notification: look at the next due time again
        _ticker?.Changed();
        return Task.CompletedTask;
    }

    public Task RunMaintenanceAsync() => _maintenance?.RunAsync(CancellationToken.None, asked: true) ?? Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Information, Message = "The cluster's job scheduler and maintenance run on this silo now.")]
    private partial void LogActivated();
}
