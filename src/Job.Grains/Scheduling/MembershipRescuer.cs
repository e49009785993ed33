using Job.Hosting;
using Job.Telemetry;
using Microsoft.Extensions.Logging;
using Orleans.Runtime;

namespace Job.Scheduling;

/// <summary>
/// Watches Orleans membership and, when a silo is declared dead, puts the jobs it was running back
/// to pending at once (attempt counted, <c>silo_lost</c> in their history), instead of waiting for a
/// heartbeat timeout as every peer does. Every silo does this; the statement only moves rows still
/// claimed by the dead silo, so the first silo wins and the others find nothing. The dead silo may
/// also have held some job types' grains, their schedulers: the poller makes sure its types' grains
/// are active again at once rather than at their reminder's next tick.
/// </summary>
internal sealed partial class MembershipRescuer(
    JobRuntime runtime,
    IClusterMembershipService membership,
    JobPoller poller,
    ILogger<MembershipRescuer> logger)
{
    private readonly HashSet<SiloAddress> _rescued = [];

    public async Task RunAsync(CancellationToken ct)
    {
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
                    poller.EnsureTypeGrains();
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
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
                    JobTelemetry.Rescued.Add(rescued.Count);
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

                await Task.Delay(failures.Delay, ct).ConfigureAwait(false);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Count} running job(s) of dead silo {Silo} are pending again and will run elsewhere.")]
    private partial void LogRescued(int count, string silo);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Rescuing the jobs of dead silo {Silo} failed ({Failures} in a row); retrying.")]
    private partial void LogRescueFailed(string silo, int failures, Exception exception);
}
