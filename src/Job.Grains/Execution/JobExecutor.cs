using System.Diagnostics;
using Job.Hosting;
using Job.Storage;
using Job.Telemetry;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Job.Execution;

/// <summary>How one run ended, for the caller (the job grain) to wake waiters.</summary>
internal enum RunOutcome
{
    Completed,
    Rescheduled,
    Retrying,
    Errored,
    HandedBack,
    Stale,
}

/// <summary>
/// Runs one claimed job: builds the runner through the type's initializer, runs it, and writes how
/// it ended (complete, reschedule, retry with backoff, or errored) in one fenced transaction. Every
/// failure of the run itself, Init and a bad config included, is a failed attempt with its message
/// in the history; nothing escapes to strand the claim.
/// </summary>
internal sealed partial class JobExecutor(JobRuntime runtime, JobRegistry registry, CompletionBatcher completions, ILogger<JobExecutor> logger)
{
    public async Task<RunOutcome> ExecuteAsync(ClaimedJob claim, CancellationToken shutdown)
    {
        var type = registry.Find(claim.JobType);
        if (type is null)
        {
            // Claims only ever cover this silo's registered types; should one slip through, hand it back.
            await runtime.Queue.AbortAsync([(claim.Id, claim.ClaimToken)], $"no initializer for '{claim.JobType}' on this silo", runtime.Clock.Now, CancellationToken.None).ConfigureAwait(false);
            return RunOutcome.HandedBack;
        }

        using var activity = JobTelemetry.StartExecute(claim.Id, claim.JobType, claim.Attempt, claim.TraceParent);
        JobCompletion completion;
        try
        {
            var job = new Job(claim.Id, type.JobType, claim.ConfigJson, null, [], runtime.Json);
            var runner = type.Init(job);
            var current = new CurrentJob(runtime, claim, shutdown);
            completion = await runner.RunAsync(current, shutdown).ConfigureAwait(false)
                ?? throw new InvalidOperationException($"The runner of '{claim.JobType}' returned no JobCompletion.");
        }
        catch (Exception ex)
        {
            return Finish(activity, await FailAsync(claim, type.RetrySettings, ex).ConfigureAwait(false));
        }

        try
        {
            return Finish(activity, await ApplyAsync(claim, completion).ConfigureAwait(false));
        }
        catch (Exception ex) when (ex is not StaleClaimException)
        {
            // The completion's commit failed (the runner's transaction included): nothing of it was
            // written, so this run counts as failed.
            LogCompletionFailed(claim.Id, claim.JobType, ex);
            return Finish(activity, await FailAsync(claim, type.RetrySettings, ex).ConfigureAwait(false));
        }
    }

    private async Task<RunOutcome> ApplyAsync(ClaimedJob claim, JobCompletion completion)
    {
        var tx = completion.Transaction;
        if (tx is null)
        {
            return await WriteAsync(claim, completion, null).ConfigureAwait(false);
        }

        // The runtime owns the runner's transaction from here: it commits (or, when fenced out,
        // rolls back) and closes it together with its connection, whatever happens.
        var connection = tx.Connection;
        try
        {
            var outcome = await WriteAsync(claim, completion, tx).ConfigureAwait(false);
            if (outcome == RunOutcome.Stale)
            {
                // Fenced out: the runner's business writes must not commit without the job's state change.
                await tx.RollbackAsync(CancellationToken.None).ConfigureAwait(false);
            }
            else
            {
                await tx.CommitAsync(CancellationToken.None).ConfigureAwait(false);
            }

            return outcome;
        }
        finally
        {
            await tx.DisposeAsync().ConfigureAwait(false);
            if (connection is not null)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    // Writes the completion's state change: batched and retried through blips on our own
    // connection, or as one statement inside the runner's transaction.
    private async Task<RunOutcome> WriteAsync(ClaimedJob claim, JobCompletion completion, NpgsqlTransaction? tx)
    {
        var now = runtime.Clock.Now;
        bool written;
        RunOutcome outcome;
        if (completion.Kind == JobCompletionKind.Complete)
        {
            written = tx is null
                ? await Durably(claim, () => completions.CompleteAsync(claim)).ConfigureAwait(false)
                : (await runtime.Queue.CompleteAsync([(claim.Id, claim.ClaimToken, claim.Attempt)], now, tx, CancellationToken.None).ConfigureAwait(false)).Count == 1;
            outcome = RunOutcome.Completed;
        }
        else
        {
            // Saturates: RescheduleIn(TimeSpan.MaxValue) means "as late as a date can be", not an overflow.
            var at = completion.At ?? Scheduling.TimeArithmetic.SaturatingAdd(now, completion.Delay.GetValueOrDefault());
            written = tx is null
                ? await Durably(claim, () => runtime.Queue.RescheduleAsync(claim, at, now, null, CancellationToken.None)).ConfigureAwait(false)
                : await runtime.Queue.RescheduleAsync(claim, at, now, tx, CancellationToken.None).ConfigureAwait(false);
            outcome = RunOutcome.Rescheduled;
        }

        return written ? outcome : Stale(claim);
    }

    private async Task<RunOutcome> FailAsync(ClaimedJob claim, RetrySettings settings, Exception ex)
    {
        var now = runtime.Clock.Now;
        var failure = JobFailure.From(ex is AggregateException { InnerExceptions.Count: 1 } agg ? agg.InnerExceptions[0] : ex);
        var window = claim.RetryFailedAt is { } failed && claim.RetryDueAt is { } due ? RetryWindow.TryCreate(failed, due) : null;
        var decision = RetryDecision.Decide(now, claim.Attempt, window, settings);
        if (decision.WillRetry)
        {
            logger.Log(decision.Level, ex, "Job {JobId} ({JobType}) attempt {Attempt} failed; retry {NextAttempt} at {RetryAt:O}: {Error}",
                claim.Id, claim.JobType, claim.Attempt, decision.NextAttempt, decision.RetryAt, failure.Message);
            var written = await Durably(claim, () => runtime.Queue.RetryAsync(claim, decision.NextAttempt, decision.RetryAt!.Value, decision.AttemptCounterReset, failure, now, CancellationToken.None)).ConfigureAwait(false);
            return written ? RunOutcome.Retrying : Stale(claim);
        }

        logger.Log(LogLevel.Error, ex, "Job {JobId} ({JobType}) attempt {Attempt} failed and has no attempts left; it ends errored: {Error}",
            claim.Id, claim.JobType, claim.Attempt, failure.Message);
        var ended = await Durably(claim, () => runtime.Queue.FailAsync(claim, decision.AttemptCounterReset, failure, now, CancellationToken.None)).ConfigureAwait(false);
        return ended ? RunOutcome.Errored : Stale(claim);
    }

    // A run's outcome is written through database blips (retried, fenced) rather than dropped: a
    // dropped write would leave the job running until its heartbeat went stale and it ran again.
    // Past the lost interval the job is rescued anyway, so retrying longer is pointless.
    private Task<bool> Durably(ClaimedJob claim, Func<Task<bool>> write) =>
        TransientRetry.RunAsync(write, runtime.Options.JobLostInterval, (failures, ex) => LogWriteRetry(claim.Id, claim.JobType, failures, ex));

    private RunOutcome Stale(ClaimedJob claim)
    {
        JobTelemetry.StaleWrites.Add(1, new KeyValuePair<string, object?>(JobTelemetry.TagJobType, claim.JobType));
        LogStale(claim.Id, claim.JobType, claim.ClaimToken);
        return RunOutcome.Stale;
    }

    private static RunOutcome Finish(Activity? activity, RunOutcome outcome)
    {
        activity?.SetTag(JobTelemetry.TagOutcome, outcome.ToString());
        if (outcome is RunOutcome.Errored or RunOutcome.Retrying)
        {
            activity?.SetStatus(ActivityStatusCode.Error);
        }

        JobTelemetry.Finished.Add(1, new KeyValuePair<string, object?>(JobTelemetry.TagOutcome, outcome.ToString()));
        return outcome;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} ({JobType}): the write of claim {ClaimToken} was refused because the job was handed to another runner; this run's result is discarded.")]
    private partial void LogStale(JobId jobId, string jobType, long claimToken);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} ({JobType}): writing the run's outcome failed ({Failures} in a row); retrying.")]
    private partial void LogWriteRetry(JobId jobId, string jobType, int failures, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} ({JobType}): writing the completion failed; the run counts as failed.")]
    private partial void LogCompletionFailed(JobId jobId, string jobType, Exception exception);
}
