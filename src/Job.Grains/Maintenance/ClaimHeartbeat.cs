using Job.Claims;
using Job.Common;
using Job.Hosting;
using Microsoft.Extensions.Logging;

namespace Job.Maintenance;

/// <summary>
/// Keeps this silo's claims alive: every quarter of <c>JobLostInterval</c> (real time) it refreshes
/// the heartbeat of exactly the claims it holds, so the leader's lost-job rescue takes only the jobs
/// of a silo that hung, never those of a busy one (the crate heartbeated every row it owned, and
/// kept zombies alive).
/// </summary>
internal sealed partial class ClaimHeartbeat(JobRuntime runtime, ClaimLedger ledger, ILogger<ClaimHeartbeat> logger)
{
    public async Task RunAsync(CancellationToken ct)
    {
        var interval = runtime.Options.JobLostInterval / 4;
        var failures = new FailureStreak();
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(failures.Count == 0 ? interval : failures.Delay, ct).ConfigureAwait(false);
                await runtime.Queue.HeartbeatAsync(ledger.Snapshot(), ct).ConfigureAwait(false);
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
