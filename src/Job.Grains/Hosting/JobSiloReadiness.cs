using Orleans.Runtime;

namespace Job.Hosting;

/// <summary>
/// Tracks whether this silo is Active, for readiness: set once the silo lifecycle has passed its
/// Active stage (the job poller runs by then), cleared as soon as the silo begins to stop, so a
/// load balancer or orchestrator stops counting on the silo before it hands its jobs back.
/// </summary>
internal sealed class JobSiloReadiness : ILifecycleParticipant<ISiloLifecycle>
{
    private volatile bool _active;

    /// <summary>True while the silo is Active and not stopping.</summary>
    public bool IsActive => _active;

    /// <inheritdoc />
    public void Participate(ISiloLifecycle lifecycle) =>
        // One stage after Active: ready only once everything at Active (the poller) has started, and
        // not ready any more before anything at Active stops.
        lifecycle.Subscribe(
            nameof(JobSiloReadiness),
            ServiceLifecycleStage.Active + 1,
            _ =>
            {
                _active = true;
                return Task.CompletedTask;
            },
            _ =>
            {
                _active = false;
                return Task.CompletedTask;
            });
}
