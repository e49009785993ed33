namespace Job.Maintenance;

/// <summary>
/// The runtime's side of the cluster's leader (one activation in the cluster, key 0): silos make
/// sure it is active; not for clients.
/// </summary>
public interface IJobLeaderGrain : IGrainWithIntegerKey
{
    /// <summary>Activates the leader if it is not (its scheduler and maintenance start with it) and
    /// registers its durable reminder, which brings it back on a live silo whatever dies.</summary>
    Task EnsureAsync();

    /// <summary>Runs one maintenance pass now rather than at the next tick.</summary>
    Task RunMaintenanceAsync();
}
