using Job.Hosting;
using Job.Telemetry;
using Microsoft.Extensions.Logging;

namespace Job.Maintenance;

/// <summary>
/// The cluster's periodic housekeeping, run once per cluster by its leader: rescues the claims of
/// silos membership declared dead (those they made too late to be rescued at their death), rescues
/// running jobs whose heartbeat stopped (a hung silo), deletes finished jobs past the retention, and
/// warns about due jobs that wait unclaimed (usually: no silo registers their type).
/// </summary>
internal sealed partial class ClusterMaintenance(JobRuntime runtime, string? clusterId, ILogger logger)
{
    // Due jobs waiting this long are reported (once per type per report interval).
    private static readonly TimeSpan s_waitingAfter = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan s_reportEvery = TimeSpan.FromMinutes(5);

    // Pruning runs in short transactions; a pass stops after this many, and the next pass goes on.
    private const int PruneBatch = 1000;
    private const int PruneBatchesPerPass = 50;

    private readonly Dictionary<string, DateTime> _reported = new(StringComparer.Ordinal);
    private readonly Storage.ScheduleTickStore _ticks = new(runtime.Database);
    private readonly HistoryTrimmer _trimmer = new(runtime);

    /// <summary>How often the leader runs a pass: twice per lost interval, and at least every 30 s so a
    /// late claim of a dead silo waits no longer.</summary>
    public static TimeSpan Interval(JobsOptions options) =>
        options.JobLostInterval / 2 < TimeSpan.FromSeconds(30) ? options.JobLostInterval / 2 : TimeSpan.FromSeconds(30);

    /// <summary>One pass. <paramref name="asked"/>: someone asked for it now (not the timer), so the
    /// history trim's rest between two walks does not hold it back.</summary>
    public async Task RunAsync(CancellationToken ct, bool asked = false)
    {
        await Step("rescue the claims of dead silos", async () =>
        {
            if (clusterId is not null)
            {
                Rescued(await runtime.Queue.RescueDeadSilosAsync(clusterId, runtime.Clock.Now, ct).ConfigureAwait(false), "its silo was declared dead", JobEventTypes.SiloLost);
            }
        }).ConfigureAwait(false);

        await Step("rescue jobs without a heartbeat", async () =>
            Rescued(await runtime.Queue.RescueLostAsync(runtime.Options.JobLostInterval, runtime.Clock.Now, ct).ConfigureAwait(false),
                $"no heartbeat for {runtime.Options.JobLostInterval}", JobEventTypes.JobLost)).ConfigureAwait(false);

        if (runtime.Options.HistoryRetention is { } retention)
        {
            await Step("delete finished jobs past the retention", () => PruneAsync(retention, ct)).ConfigureAwait(false);
            await Step("delete live jobs' history past the retention", () => TrimAsync(retention, asked, ct)).ConfigureAwait(false);
        }

        await Step("look for jobs nobody claims", () => ReportWaitingAsync(ct)).ConfigureAwait(false);
    }

    private async Task Step(string what, Func<Task> step)
    {
        try
        {
            await step().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogStepFailed(what, ex);
        }
    }

    private void Rescued(IReadOnlyList<Storage.RescuedJob> rescued, string why, string reason)
    {
        foreach (var job in rescued)
        {
            JobTelemetry.RecordRescue(job.JobType, reason);
            LogRescued(job.Id, job.JobType, job.ClaimedBy ?? "?", why);
        }
    }

    private async Task PruneAsync(TimeSpan retention, CancellationToken ct)
    {
        var before = runtime.Clock.Now - retention;
        var total = 0;
        for (var i = 0; i < PruneBatchesPerPass; i++)
        {
            var deleted = await runtime.Maintenance.PruneAsync(before, PruneBatch, ct).ConfigureAwait(false);
            total += deleted;
            if (deleted < PruneBatch)
            {
                break;
            }
        }

        if (total > 0)
        {
            JobTelemetry.Pruned.Add(total);
            LogPruned(total, before);
        }

        // The records of recurring schedules' ticks go with the history (their key only guards ticks
        // the schedules have long moved past).
        for (var i = 0; i < PruneBatchesPerPass; i++)
        {
            if (await _ticks.PruneAsync(before, PruneBatch, ct).ConfigureAwait(false) < PruneBatch)
            {
                break;
            }
        }
    }

    private async Task TrimAsync(TimeSpan retention, bool asked, CancellationToken ct)
    {
        var now = runtime.Clock.Now;
        if (await _trimmer.TrimAsync(now, retention, asked, ct).ConfigureAwait(false) is > 0 and var deleted)
        {
            LogTrimmed(deleted, now - retention);
        }
    }

    private async Task ReportWaitingAsync(CancellationToken ct)
    {
        var now = DateTime.UtcNow;
        foreach (var (type, dueAt) in await runtime.Maintenance.WaitingSinceAsync(runtime.Clock.Now - s_waitingAfter, ct).ConfigureAwait(false))
        {
            if (_reported.TryGetValue(type, out var last) && now - last < s_reportEvery)
            {
                continue;
            }

            _reported[type] = now;
            LogWaiting(type, dueAt, s_waitingAfter);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} ({JobType}), running on silo {Silo}, is pending again and will run elsewhere: {Why}.")]
    private partial void LogRescued(JobId jobId, string jobType, string silo, string why);

    [LoggerMessage(Level = LogLevel.Information, Message = "Deleted {Count} finished job(s) that finished before {Before:O}, with their history.")]
    private partial void LogPruned(int count, DateTimeOffset before);

    [LoggerMessage(Level = LogLevel.Information, Message = "Deleted {Count} event(s) recorded before {Before:O} from the history of jobs still live (each keeps its provenance and its last two executions).")]
    private partial void LogTrimmed(int count, DateTimeOffset before);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Jobs of type {JobType} are due since {DueAt:O} and have waited more than {After} unclaimed: is a silo running with this type registered, with room to run it? They wait, they are not lost.")]
    private partial void LogWaiting(string jobType, DateTimeOffset dueAt, TimeSpan after);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cluster maintenance could not {What}; it runs again at the next pass.")]
    private partial void LogStepFailed(string what, Exception exception);
}
