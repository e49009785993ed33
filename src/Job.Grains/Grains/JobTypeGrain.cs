using Job.Hosting;
using Job.Scheduling;
using Job.Storage;
using Job.Telemetry;
using Microsoft.Extensions.Logging;
using Orleans.Runtime;

namespace Job.Grains;

/// <summary>
/// The single activation per job type in the cluster (key = type name): the type's scheduler and
/// janitor. It holds the type's ONE durable reminder, which keeps it active across silo failures
/// (the reminder fires on a live silo and reactivates it there). While active it runs the type's
/// <see cref="JobTypeScheduler"/>, which wakes the type's pollers when its next job falls due on
/// the application clock, and a maintenance timer that warns about due jobs nobody claims
/// (usually: no silo registers the type) and, with a history retention, deletes the type's
/// finished jobs once they are older than it. It also serves spawns by type name from clients and
/// decides spawn-unique. There is never a reminder or a timer per job, so a million scheduled jobs
/// cost the silos no memory.
/// </summary>
[GrainType("job-type")]
[CollectionAgeLimit(AlwaysActive = true)] // the type's clock: idle collection must not stop it between reminder ticks
internal sealed partial class JobTypeGrain(JobRuntime runtime, JobNotifications notifications, ILogger<JobTypeGrain> logger)
    : Grain, IJobTypeGrain, IJobTypeMaintenanceGrain, IRemindable
{
    private const string ReminderName = "job-type-maintenance";
    private static readonly TimeSpan s_reminderPeriod = TimeSpan.FromMinutes(1);

    // Due jobs left unclaimed this long are reported: usually no silo registers the type.
    private static readonly TimeSpan s_staleAfter = TimeSpan.FromMinutes(1);

    // Pruning runs in short transactions; a tick stops after this many, and the next tick goes on.
    private const int PruneBatch = 1000;
    private const int PruneBatchesPerTick = 50;

    private IGrainTimer? _timer;
    private bool _reminderRegistered;
    private JobTypeScheduler? _scheduler;
    private IDisposable? _schedulerSubscription;

    private JobType JobType => new(this.GetPrimaryKeyString());

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var scheduler = new JobTypeScheduler(runtime, JobType.Name, logger);
        _schedulerSubscription = notifications.AttachScheduler(JobType.Name, scheduler.Changed);
        _scheduler = scheduler;
        scheduler.Start();
        LogActivated(JobType.Name);
        return Task.CompletedTask;
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        _schedulerSubscription?.Dispose();
        if (_scheduler is { } scheduler)
        {
            await scheduler.DisposeAsync();
        }
    }

    public async Task<JobSnapshot> SpawnAsync(JobSpawnRequest request)
    {
        var (type, row, now) = Prepare(request);
        await runtime.Spawns.InsertAsync(type, [row], unique: false, request.TraceParent, now, null, CancellationToken.None);
        await EnsureMaintenanceAsync();
        return Snapshot(type, row, now);
    }

    public async Task<bool> SpawnUniqueAsync(JobSpawnRequest request)
    {
        var (type, row, now) = Prepare(request);
        var created = await runtime.Spawns.InsertAsync(type, [row], unique: true, request.TraceParent, now, null, CancellationToken.None);
        await EnsureMaintenanceAsync();
        return created;
    }

    public async Task EnsureMaintenanceAsync()
    {
        if (!_reminderRegistered)
        {
            await this.RegisterOrUpdateReminder(ReminderName, s_reminderPeriod, s_reminderPeriod);
            _reminderRegistered = true;
        }

        _timer ??= this.RegisterGrainTimer(MaintainAsync, new GrainTimerCreationOptions(MaintenancePeriod, MaintenancePeriod) { Interleave = true });
    }

    public Task ReceiveReminder(string reminderName, TickStatus status)
    {
        _reminderRegistered = true;
        _scheduler?.Changed(null); // a backstop for a lost notification: announce, and look at the next due time again
        _timer ??= this.RegisterGrainTimer(MaintainAsync, new GrainTimerCreationOptions(MaintenancePeriod, MaintenancePeriod) { Interleave = true });
        return Task.CompletedTask;
    }

    private TimeSpan MaintenancePeriod => runtime.Options.JobLostInterval / 2;

    private async Task MaintainAsync(CancellationToken ct)
    {
        try
        {
            var (stale, oldest) = await runtime.Queue.StalePendingAsync(JobType.Name, runtime.Clock.Now - s_staleAfter, ct);
            if (stale > 0)
            {
                LogStalePending(stale, JobType.Name, oldest, s_staleAfter);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogMaintenanceFailed(JobType.Name, ex);
        }

        if (runtime.Options.HistoryRetention is { } retention)
        {
            await PruneAsync(retention, ct);
        }
    }

    public Task RunMaintenanceAsync() => MaintainAsync(CancellationToken.None);

    private async Task PruneAsync(TimeSpan retention, CancellationToken ct)
    {
        var before = runtime.Clock.Now - retention;
        var total = 0;
        try
        {
            for (var i = 0; i < PruneBatchesPerTick; i++)
            {
                var deleted = await runtime.Retention.PruneAsync(JobType.Name, before, PruneBatch, ct);
                total += deleted;
                if (deleted < PruneBatch)
                {
                    break;
                }
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogPruneFailed(JobType.Name, ex);
        }

        if (total > 0)
        {
            JobTelemetry.Pruned.Add(total, new KeyValuePair<string, object?>(JobTelemetry.TagJobType, JobType.Name));
            LogPruned(total, JobType.Name, before);
        }
    }

    private (JobType Type, NewJob Row, DateTimeOffset Now) Prepare(JobSpawnRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var type = JobType;
        var config = JobConfigJson.Validate(request.ConfigJson, runtime.Options.MaxConfigBytes, type.Name);
        if (request.QueueId is { Length: 0 or > 256 })
        {
            throw new ArgumentException($"A queue id must be 1 to 256 characters long (it is {request.QueueId.Length}).", nameof(request));
        }

        var now = runtime.Clock.Now;
        return (type, new NewJob(request.Id, config, request.ScheduleAt ?? now, request.QueueId), now);
    }

    private static JobSnapshot Snapshot(JobType type, NewJob row, DateTimeOffset now) => new()
    {
        Id = row.Id,
        JobType = type.Name,
        Status = JobStatus.Pending,
        Attempt = 1,
        NextRunAt = row.ExecuteAt,
        ConfigJson = row.ConfigJson,
        QueueId = row.QueueId,
        CreatedAt = now,
    };

    [LoggerMessage(Level = LogLevel.Information, Message = "Job type {JobType}: its scheduler and maintenance run on this silo now.")]
    private partial void LogActivated(string jobType);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Count} job(s) of type {JobType} are due since {OldestDue:O} or later and have waited more than {StaleAfter} unclaimed: is a silo running with this type registered? They wait, they are not lost.")]
    private partial void LogStalePending(long count, string jobType, DateTimeOffset? oldestDue, TimeSpan staleAfter);

    [LoggerMessage(Level = LogLevel.Information, Message = "Deleted {Count} finished job(s) of type {JobType} that finished before {Before:O}, with their history.")]
    private partial void LogPruned(int count, string jobType, DateTimeOffset before);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Deleting old finished jobs of type {JobType} failed; it runs again at the next tick.")]
    private partial void LogPruneFailed(string jobType, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Maintenance of job type {JobType} failed; it runs again at the next tick.")]
    private partial void LogMaintenanceFailed(string jobType, Exception exception);
}
