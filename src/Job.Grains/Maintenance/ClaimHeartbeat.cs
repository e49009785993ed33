using Job.Claims;
using Job.Common;
using Job.Execution;
using Job.Hosting;
using Microsoft.Extensions.Logging;

namespace Job.Maintenance;

/// <summary>
/// Keeps this silo's claims alive: every quarter of <c>JobLostInterval</c> (real time) it refreshes
/// the heartbeat of exactly the claims it holds, so the leader's lost-job rescue takes only the jobs
/// of a silo that hung, never those of a busy one (the crate heartbeated every row it owned, and
/// kept zombies alive). The same statement returns the claims an operator asked to cancel, whose
/// notification may never have come (sent before this silo listened, or while its listener was
/// away): their runs are told then. <see cref="Wake"/> beats at once, as the listener does whenever
/// it (re)connects.
/// </summary>
internal sealed partial class ClaimHeartbeat(JobRuntime runtime, ClaimLedger ledger, JobExecutor executor, ILogger<ClaimHeartbeat> logger)
{
    private readonly WakeSignal _wake = new();

    /// <summary>Beat now: notifications may have been lost.</summary>
    public void Wake() => _wake.Set();

    public async Task RunAsync(CancellationToken ct)
    {
        var interval = runtime.Options.JobLostInterval / 4;
        var failures = new FailureStreak();
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await Task.WhenAny(Task.Delay(failures.Count == 0 ? interval : failures.Delay, ct), _wake.WaitTask).ConfigureAwait(false);
                ct.ThrowIfCancellationRequested();
                _wake.Reset();
                foreach (var id in await runtime.Queue.HeartbeatAsync(ledger.Snapshot(), ct).ConfigureAwait(false))
                {
                    executor.RequestCancel(id);
                }

                failures.Reset();
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                if (failures.Fail())
                {
                    LogHeartbeatFailed(failures.Count, ex);
                }
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Heartbeat of running jobs failed ({Failures} in a row).")]
    private partial void LogHeartbeatFailed(int failures, Exception exception);
}
