using Job.Hosting;
using Job.Scheduling;
using Job.Storage;
using Microsoft.Extensions.Logging;

namespace Job.Execution;

/// <summary>
/// Takes one claim from start to release on this silo: the <see cref="JobExecutor"/> runs it and
/// writes its outcome; should that write fail for good (the database stayed away), or should the
/// claim never reach its job grain, the job is handed back so it runs elsewhere (fenced, so a run
/// that did finish is not undone). Either way the claim leaves the <see cref="ClaimLedger"/>.
/// </summary>
internal sealed partial class ClaimRunner(
    JobRuntime runtime,
    JobExecutor executor,
    JobShutdownSignal shutdown,
    ClaimLedger ledger,
    ILogger<ClaimRunner> logger)
{
    /// <summary>Runs the claim to its end; never throws.</summary>
    public async Task RunAsync(ClaimedJob claim)
    {
        try
        {
            await executor.ExecuteAsync(claim, shutdown.Token).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            LogNotRecorded(claim.Id, claim.JobType, ex);
            await HandBackAsync(claim, $"run not recorded: {ex.GetType().Name}").ConfigureAwait(false);
            return;
        }

        ledger.Release(claim);
    }

    /// <summary>The claim may not have reached its job grain: unless the grain took it (and runs it),
    /// give it back at once; never throws.</summary>
    public async Task AbandonAsync(ClaimedJob claim, string reason, Exception? exception)
    {
        if (!ledger.TryTake(claim))
        {
            LogDispatchedAnyway(claim.Id, claim.JobType, reason, exception);
            return;
        }

        LogNotDispatched(claim.Id, claim.JobType, reason, exception);
        await HandBackAsync(claim, $"dispatch failed: {reason}").ConfigureAwait(false);
    }

    // Pending again and due now, so another silo (or this one) runs it; then out of the ledger.
    private async Task HandBackAsync(ClaimedJob claim, string reason)
    {
        try
        {
            await TransientRetry.RunAsync(
                () => runtime.Queue.AbortAsync([(claim.Id, claim.ClaimToken)], reason, runtime.Clock.Now, CancellationToken.None),
                runtime.Options.JobLostInterval,
                (_, _) => { }).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            LogHandBackFailed(claim.Id, ex);
        }
        finally
        {
            ledger.Release(claim);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} ({JobType}): its run could not be recorded; handing it back.")]
    private partial void LogNotRecorded(JobId jobId, string jobType, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} ({JobType}): the claim could not be handed to its job grain ({Reason}); handing it back.")]
    private partial void LogNotDispatched(JobId jobId, string jobType, string reason, Exception? exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} ({JobType}): handing the claim to its job grain reported a failure ({Reason}), but the grain took it and runs it.")]
    private partial void LogDispatchedAnyway(JobId jobId, string jobType, string reason, Exception? exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Handing back job {JobId} failed; its heartbeat will stop and it will be rescued.")]
    private partial void LogHandBackFailed(JobId jobId, Exception exception);
}
