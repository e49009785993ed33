namespace Job.Silo.Health;

/// <summary>
/// Tracks whether this silo is Active: set once the silo lifecycle has passed its Active stage (the job
/// poller runs by then), cleared as soon as the silo begins to stop.
/// </summary>
internal sealed class SiloReadiness : ILifecycleParticipant<ISiloLifecycle>
{
    private volatile bool _active;

    /// <summary>True while the silo is Active and not stopping.</summary>
    public bool IsActive => _active;

    /// <inheritdoc />
    public void Participate(ISiloLifecycle lifecycle) =>
        // One stage after Active: ready only once everything at Active (the poller) has started, and
        // not ready any more before anything at Active stops.
        lifecycle.Subscribe(
            nameof(SiloReadiness),
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
