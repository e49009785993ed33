using Job.Common;
using Job.Hosting;
using Job.Telemetry;
using Microsoft.Extensions.Logging;
using Orleans.Runtime;

namespace Job.Maintenance;

/// <summary>
/// Watches Orleans membership on every silo and, when a silo is declared dead, puts the jobs it was
/// running back to pending at once (attempt counted, <c>silo_lost</c> in their history) instead of
/// waiting for a heartbeat timeout as every peer does. The statement moves only rows still claimed by
/// the dead silo, so the first silo wins and the others find nothing. The dead silo may have hosted
/// the cluster's leader: the watcher makes sure it is active again at once rather than at its
/// reminder's next tick. (A claim the dead silo made after it was declared dead, before it knew, is
/// refused by the claim statement itself, and the leader's sweep catches one in flight then.)
/// </summary>
internal sealed partial class MembershipWatcher(
    JobRuntime runtime,
    IClusterMembershipService membership,
    IGrainFactory grains,
    ILogger<MembershipWatcher> logger)
{
    private readonly HashSet<SiloAddress> _rescued = [];

    public async Task RunAsync(CancellationToken ct)
    {
        _ = EnsureLeaderAsync(ct);
        try
        {
            await foreach (var snapshot in membership.MembershipUpdates.WithCancellation(ct).ConfigureAwait(false))
            {
                var died = false;
                foreach (var member in snapshot.Members.Values)
                {
                    if (member.Status == SiloStatus.Dead && !_rescued.Contains(member.SiloAddress))
                    {
                        await RescueAsync(member.SiloAddress, ct).ConfigureAwait(false);
                        died = true;
                    }
                }

                if (died)
                {
                    _ = EnsureLeaderAsync(ct);
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    // In the background: the leader may sit on a silo that is dead but not yet declared so, and that
    // must not hold up this silo's rescues.
    private async Task EnsureLeaderAsync(CancellationToken ct)
    {
        var failures = new FailureStreak();
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await grains.GetGrain<IJobLeaderGrain>(0).EnsureAsync().WaitAsync(ct).ConfigureAwait(false);
                return;
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                if (failures.Fail())
                {
                    LogLeaderFailed(failures.Count, ex);
                }

                if (!await failures.BackOffAsync(ct).ConfigureAwait(false))
                {
                    return;
                }
            }
        }
    }

    private async Task RescueAsync(SiloAddress dead, CancellationToken ct)
    {
        var failures = new FailureStreak();
        while (!ct.IsCancellationRequested)
        {
            try
            {
                var rescued = await runtime.Queue.RescueSiloAsync(dead.ToParsableString(), runtime.Clock.Now, ct).ConfigureAwait(false);
                _rescued.Add(dead);
                if (rescued.Count > 0)
                {
                    foreach (var job in rescued)
                    {
                        JobTelemetry.RecordRescue(job.JobType, JobEventTypes.SiloLost);
                    }

                    LogRescued(rescued.Count, dead.ToParsableString());
                }

                return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                if (failures.Fail())
                {
                    LogRescueFailed(dead.ToParsableString(), failures.Count, ex);
                }

                if (!await failures.BackOffAsync(ct).ConfigureAwait(false))
                {
                    return;
                }
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Count} running job(s) of dead silo {Silo} are pending again and will run elsewhere.")]
    private partial void LogRescued(int count, string silo);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Rescuing the jobs of dead silo {Silo} failed ({Failures} in a row); retrying.")]
    private partial void LogRescueFailed(string silo, int failures, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Activating the cluster's job scheduler failed ({Failures} in a row); retrying. Due jobs already pending still run.")]
    private partial void LogLeaderFailed(int failures, Exception exception);
}
