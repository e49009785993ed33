using System.Collections.Concurrent;
using System.Diagnostics;
using Job.Claims;
using Job.Clock;
using Job.Completion;
using Job.Hosting;
using Job.Telemetry;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Job.Execution;

/// <summary>
/// Runs this silo's claims: <c>MaxJobsPerProcess</c> runners take claims from the buffer the
/// dispatcher fills, in the order they were claimed; each builds the runner through the type's
/// initializer, runs it, turns how it ended into an outcome, frees its slot at once and hands the
/// outcome to the <see cref="JobCompleter"/> (or writes it inside the runner's own transaction).
/// Every failure of the run itself, Init and a bad config included, is a failed attempt with its
/// message in the history; a run cancelled by shutdown is handed back, not charged; a run whose
/// operator cancelled it ends cancelled. Runs execute outside any grain: a grain call, activation and
/// deactivation per run cost more CPU than a no-op job (docs/architecture.md, decision 3).
/// </summary>
internal sealed partial class JobExecutor(
    JobRuntime runtime,
    JobRegistry registry,
    ClaimLedger ledger,
    JobCompleter completer,
    JobShutdownSignal shutdown,
    ILogger<JobExecutor> logger)
{
    private readonly ClaimBuffer _buffer = new();
    private readonly ConcurrentDictionary<(JobId Id, long Token), RunControl> _running = new();
    private readonly Lock _gate = new();
    private int _handedBack;
    private Task[] _runners = [];
    private Action<RunOutcome, bool, Exception?>? _written;
    private Action<RunOutcome, bool, Exception?>? _failureWritten;

    private Action<RunOutcome, bool, Exception?> Written => _written ??= OnWritten;

    private Action<RunOutcome, bool, Exception?> FailureWritten => _failureWritten ??= OnFailureWritten;

    /// <summary>Starts the runners (once).</summary>
    public void Start()
    {
        lock (_gate)
        {
            if (_runners.Length == 0)
            {
                _runners = [.. Enumerable.Range(0, runtime.Options.MaxJobsPerProcess).Select(_ => Task.Run(RunnerLoopAsync))];
            }
        }
    }

    /// <summary>Buffers claims for the runners, who take them round-robin by type (fair dispatch).</summary>
    public void Enqueue(IReadOnlyList<ClaimedJob> claims)
    {
        foreach (var claim in claims)
        {
            if (!_buffer.TryAdd(claim))
            {
                // Stopping: the runners are gone; shutdown hands back what is left in the ledger.
                Write(RunOutcome.HandBack(claim, "shutdown: the silo stopped before the run could start"));
            }
        }
    }

    /// <summary>An operator asked to cancel the job: fire the token of its run on this silo, if any.
    /// A run that ignores it is given up after the shutdown timeout: the job ends cancelled, and the
    /// run's own outcome, when it comes, is refused (its slot stays busy until it returns).</summary>
    public void RequestCancel(JobId id)
    {
        foreach (var (key, control) in _running)
        {
            if (key.Id == id && control.RequestCancel())
            {
                _ = GiveUpAfterTimeoutAsync(control);
            }
        }
    }

    /// <summary>
    /// Shutdown, once the dispatcher stopped claiming: the runs are told (their token fires); the
    /// claims never started are handed back at once; the runs are given the shutdown timeout (real
    /// time); those still going then are handed back (their late outcome is refused, fenced).
    /// </summary>
    public async Task ShutdownAsync()
    {
        var handedBackBefore = Volatile.Read(ref _handedBack); // a type no initializer here runs is handed back any time
        shutdown.Signal();
        foreach (var control in _running.Values)
        {
            control.Shutdown();
        }

        var unstarted = _buffer.Close();
        foreach (var claim in ledger.TakeBuffered(unstarted))
        {
            Write(RunOutcome.HandBack(claim, "shutdown: the run had not started"));
        }

        var deadline = DateTime.UtcNow + runtime.Options.ShutdownTimeout;
        while (ledger.Executing > 0 && DateTime.UtcNow < deadline)
        {
            ledger.Drained.Reset();
            if (ledger.Executing == 0)
            {
                break;
            }

            var left = deadline - DateTime.UtcNow;
            await Task.WhenAny(ledger.Drained.WaitTask, Task.Delay(left > TimeSpan.Zero ? left : TimeSpan.Zero)).ConfigureAwait(false);
        }

        var handedBack = 0;
        foreach (var control in _running.Values)
        {
            if (control.TryDecide())
            {
                handedBack++;
                Write(RunOutcome.HandBack(control.Claim, "shutdown timeout"));
            }
        }

        if (handedBack > 0)
        {
            LogHandedBack(handedBack, runtime.Options.ShutdownTimeout);
        }

        // What an operator stopping a silo wants to read: its jobs were not lost, they run elsewhere.
        LogStopped(Volatile.Read(ref _handedBack) - handedBackBefore);
    }

    private async Task RunnerLoopAsync()
    {
        while (await _buffer.TakeAsync().ConfigureAwait(false) is { } claim)
        {
            if (ledger.TryStart(claim))
            {
                await RunAsync(claim).ConfigureAwait(false);
            }
        }
    }

    private async Task RunAsync(ClaimedJob claim)
    {
        var type = registry.Find(claim.JobType);
        using var control = new RunControl(claim, shutdown.Token);
        _running[claim.Key] = control;
        if (shutdown.Token.IsCancellationRequested)
        {
            control.Shutdown(); // the silo began to stop before this run was listed: ShutdownAsync may have missed it
        }

        RunOutcome outcome;
        NpgsqlTransaction? tx = null;
        var started = Stopwatch.GetTimestamp();
        try
        {
            (outcome, tx) = await ExecuteAsync(claim, type, control).ConfigureAwait(false);
        }
        finally
        {
            _running.TryRemove(claim.Key, out _);
        }

        JobTelemetry.RecordRun(claim.JobType, outcome.Kind.Name(), started);
        ledger.RunEnded(claim);
        if (!control.TryDecide())
        {
            // Its outcome (cancelled or handed back) was written when the run was given up.
            await DisposeTransactionAsync(tx).ConfigureAwait(false);
            LogLateRun(claim.Id, claim.JobType);
            ledger.Release(claim);
            return;
        }

        if (tx is not null)
        {
            await WriteInTransactionAsync(claim, type!, outcome, tx).ConfigureAwait(false);
        }
        else
        {
            Write(outcome);
        }
    }

    private async Task<(RunOutcome Outcome, NpgsqlTransaction? Tx)> ExecuteAsync(ClaimedJob claim, RegisteredJobType? type, RunControl control)
    {
        if (type is null)
        {
            // Claims only ever cover this silo's registered types; should one slip through, hand it back.
            return (RunOutcome.HandBack(claim, $"no initializer for '{claim.JobType}' on this silo"), null);
        }

        if (type.RetrySettings.NAttempts is { } limit && claim.Attempt > limit)
        {
            // Earlier runs were lost (their silo died or hung) and each loss counted an attempt.
            var message = $"Attempt {claim.Attempt} exceeds the {limit} allowed (NAttempts): the job's earlier runs were lost (their silo died or stopped heart-beating), so it ends errored without running again.";
            LogAttemptsExhaustedByLoss(claim.Id, claim.JobType, claim.Attempt, limit);
            return (new RunOutcome(claim, OutcomeKind.Errored) { Message = message, ErrorType = "Job.AttemptsExhaustedByLostRuns" }, null);
        }

        using var activity = JobTelemetry.StartExecute(claim.Id, claim.JobType, claim.Attempt, claim.TraceParent);
        JobCompletion completion;
        try
        {
            var job = new Job(claim.Id, type.JobType, claim.ConfigJson, null, [], runtime.Json);
            var runner = type.Init(job);
            var current = new CurrentJob(runtime, claim, type.JobType, control.Token);
            completion = await runner.RunAsync(current, control.Token).ConfigureAwait(false)
                ?? throw new InvalidOperationException($"The runner of '{claim.JobType}' returned no JobCompletion.");
        }
        catch (OperationCanceledException) when (control.CancelRequested)
        {
            return (Finish(activity, new RunOutcome(claim, OutcomeKind.Cancelled)), null);
        }
        catch (OperationCanceledException) when (control.ShuttingDown)
        {
            // The runner honoured the shutdown signal: not a failure, the job runs again elsewhere.
            return (Finish(activity, RunOutcome.HandBack(claim, "shutdown: the run stopped when its token fired")), null);
        }
        catch (Exception ex)
        {
            return (Finish(activity, Failure(claim, type.RetrySettings, ex)), null);
        }

        if (control.CancelRequested)
        {
            // An operator cancelled the job: it ends cancelled whatever the run returned.
            await DisposeTransactionAsync(completion.Transaction, rollback: true).ConfigureAwait(false);
            return (Finish(activity, new RunOutcome(claim, OutcomeKind.Cancelled)), null);
        }

        return (Finish(activity, FromCompletion(claim, completion)), completion.Transaction);
    }

    private RunOutcome FromCompletion(ClaimedJob claim, JobCompletion completion)
    {
        if (completion.Kind == JobCompletionKind.Complete)
        {
            return new RunOutcome(claim, OutcomeKind.Completed);
        }

        // Saturates: RescheduleIn(TimeSpan.MaxValue) means "as late as a date can be", not an overflow.
        var at = completion.At ?? TimeArithmetic.SaturatingAdd(runtime.Clock.Now, completion.Delay.GetValueOrDefault());
        return new RunOutcome(claim, OutcomeKind.Rescheduled) { At = at };
    }

    private RunOutcome Failure(ClaimedJob claim, RetrySettings settings, Exception ex)
    {
        var now = runtime.Clock.Now;
        var failure = JobFailure.From(ex is AggregateException { InnerExceptions.Count: 1 } agg ? agg.InnerExceptions[0] : ex);
        var window = claim.RetryFailedAt is { } failed && claim.RetryDueAt is { } due ? RetryWindow.TryCreate(failed, due) : null;
        var decision = RetryDecision.Decide(now, claim.Attempt, window, settings, runStartedAt: claim.StartedAt);
        if (decision.WillRetry)
        {
            logger.Log(decision.Level, ex, "Job {JobId} ({JobType}) attempt {Attempt} failed; retry {NextAttempt} at {RetryAt:O}: {Error}",
                claim.Id, claim.JobType, claim.Attempt, decision.NextAttempt, decision.RetryAt, failure.Message);
            return new RunOutcome(claim, OutcomeKind.Retry)
            {
                NextAttempt = decision.NextAttempt,
                At = decision.RetryAt,
                AttemptCounterReset = decision.AttemptCounterReset,
                Message = failure.Message,
                ErrorType = failure.Type,
                ErrorDetail = failure.Detail,
            };
        }

        logger.Log(LogLevel.Error, ex, "Job {JobId} ({JobType}) attempt {Attempt} failed and has no attempts left; it ends errored: {Error}",
            claim.Id, claim.JobType, claim.Attempt, failure.Message);
        return new RunOutcome(claim, OutcomeKind.Errored)
        {
            AttemptCounterReset = decision.AttemptCounterReset,
            Message = failure.Message,
            ErrorType = failure.Type,
            ErrorDetail = failure.Detail,
        };
    }

    // Writes the outcome through the completer, which calls back once it is durable (or failed for good);
    // the claim is released then. When it cannot be written at all, a completion or reschedule counts as
    // a failed run (nothing of it was recorded); anything else is left to the rescue, which takes the job
    // once this claim's heartbeat stops. No task or continuation per run: the completer's writer thread
    // runs the callbacks of a whole batch.
    private void Write(RunOutcome outcome)
    {
        if (outcome.Kind == OutcomeKind.HandedBack)
        {
            Interlocked.Increment(ref _handedBack);
        }

        completer.Submit(outcome, Written);
    }

    private void OnWritten(RunOutcome outcome, bool applied, Exception? ex)
    {
        var claim = outcome.Claim;
        if (ex is null)
        {
            if (!applied)
            {
                Stale(claim);
            }
        }
        else if (outcome.Kind is OutcomeKind.Completed or OutcomeKind.Rescheduled && registry.Find(claim.JobType) is { } type)
        {
            LogCompletionFailed(claim.Id, claim.JobType, ex);
            completer.Submit(Failure(claim, type.RetrySettings, ex), FailureWritten); // releases the claim when written
            return;
        }
        else
        {
            LogNotRecorded(claim.Id, claim.JobType, outcome.Kind.ToString(), ex);
        }

        ledger.Release(claim);
    }

    private void OnFailureWritten(RunOutcome outcome, bool applied, Exception? ex)
    {
        var claim = outcome.Claim;
        if (ex is not null)
        {
            LogNotRecorded(claim.Id, claim.JobType, OutcomeKind.Retry.ToString(), ex);
        }
        else if (!applied)
        {
            Stale(claim);
        }

        ledger.Release(claim);
    }

    private async Task TryWriteFailureAsync(ClaimedJob claim, RegisteredJobType type, Exception cause)
    {
        try
        {
            if (!await completer.SubmitAsync(Failure(claim, type.RetrySettings, cause)).ConfigureAwait(false))
            {
                Stale(claim);
            }
        }
        catch (Exception ex)
        {
            LogNotRecorded(claim.Id, claim.JobType, OutcomeKind.Retry.ToString(), ex);
        }
    }

    // The runtime owns the runner's transaction from here: it writes the job's state change into it and
    // commits (or, when fenced out, rolls back) and closes it with its connection, whatever happens.
    private async Task WriteInTransactionAsync(ClaimedJob claim, RegisteredJobType type, RunOutcome outcome, NpgsqlTransaction tx)
    {
        try
        {
            var applied = (await runtime.Queue.FinishAsync([outcome], runtime.Clock.Now, tx, CancellationToken.None).ConfigureAwait(false)).Contains(claim.Key);
            if (applied)
            {
                await tx.CommitAsync(CancellationToken.None).ConfigureAwait(false);
            }
            else
            {
                // Fenced out: the runner's business writes must not commit without the job's state change.
                await tx.RollbackAsync(CancellationToken.None).ConfigureAwait(false);
                Stale(claim);
            }
        }
        catch (Exception ex)
        {
            // The commit failed (the runner's writes included): nothing of it was written, so the run counts as failed.
            LogCompletionFailed(claim.Id, claim.JobType, ex);
            await TryWriteFailureAsync(claim, type, ex).ConfigureAwait(false);
        }
        finally
        {
            await DisposeTransactionAsync(tx).ConfigureAwait(false);
            ledger.Release(claim);
        }
    }

    private async Task GiveUpAfterTimeoutAsync(RunControl control)
    {
        await Task.Delay(runtime.Options.ShutdownTimeout).ConfigureAwait(false);
        if (_running.ContainsKey(control.Claim.Key) && control.TryDecide())
        {
            LogCancelGivenUp(control.Claim.Id, control.Claim.JobType, runtime.Options.ShutdownTimeout);
            Write(new RunOutcome(control.Claim, OutcomeKind.Cancelled));
        }
    }

    private static async Task DisposeTransactionAsync(NpgsqlTransaction? tx, bool rollback = false)
    {
        if (tx is null)
        {
            return;
        }

        var connection = tx.Connection;
        try
        {
            if (rollback && connection is not null)
            {
                await tx.RollbackAsync(CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException)
        {
            // Already gone: nothing of it commits.
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

    private void Stale(ClaimedJob claim)
    {
        JobTelemetry.StaleWrites.Add(1, new KeyValuePair<string, object?>(JobTelemetry.TagJobType, claim.JobType));
        LogStale(claim.Id, claim.JobType, claim.ClaimToken);
    }

    private static RunOutcome Finish(Activity? activity, RunOutcome outcome)
    {
        activity?.SetTag(JobTelemetry.TagOutcome, outcome.Kind.Name());
        if (outcome.Kind is OutcomeKind.Errored or OutcomeKind.Retry)
        {
            activity?.SetStatus(ActivityStatusCode.Error);
        }

        return outcome;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} ({JobType}): the write of claim {ClaimToken} was refused because the job was handed to another runner; this run's result is discarded.")]
    private partial void LogStale(JobId jobId, string jobType, long claimToken);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} ({JobType}): writing the completion failed; the run counts as failed.")]
    private partial void LogCompletionFailed(JobId jobId, string jobType, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Job {JobId} ({JobType}): its outcome ({Outcome}) could not be written; the job will be rescued once its heartbeat stops.")]
    private partial void LogNotRecorded(JobId jobId, string jobType, string outcome, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Job {JobId} ({JobType}) reached attempt {Attempt} through lost runs, past its {Limit} allowed attempts; it ends errored without running again.")]
    private partial void LogAttemptsExhaustedByLoss(JobId jobId, string jobType, int attempt, int limit);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Count} job(s) still ran after the shutdown timeout of {Timeout} and were handed back to pending.")]
    private partial void LogHandedBack(int count, TimeSpan timeout);

    [LoggerMessage(Level = LogLevel.Information, Message = "Runs stopped: {Count} job(s) handed back as pending, to run again on another silo (or on this one when it is back).")]
    private partial void LogStopped(int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} ({JobType}) did not stop within {Timeout} of its cancel; it ends cancelled, and its run's result will be refused when it returns.")]
    private partial void LogCancelGivenUp(JobId jobId, string jobType, TimeSpan timeout);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId} ({JobType}): a run given up (cancelled or handed back) returned at last; its result is discarded.")]
    private partial void LogLateRun(JobId jobId, string jobType);
}

/// <summary>A failed run, as the history records it: the message, the exception's type, and the exception
/// as .NET prints it (its stack trace and inner exceptions), cut at <see cref="MaxDetail"/> characters.</summary>
internal readonly record struct JobFailure(string Message, string Type, string Detail)
{
    /// <summary>The longest detail kept: a stack trace of a few hundred frames; a deeper one is cut.</summary>
    public const int MaxDetail = 16_384;

    public static JobFailure From(Exception ex)
    {
        var detail = ex.ToString();
        return new(ex.Message, ex.GetType().FullName ?? ex.GetType().Name, detail.Length <= MaxDetail ? detail : string.Concat(detail.AsSpan(0, MaxDetail), "\n… (cut)"));
    }
}
