namespace Job.Grains;

/// <summary>The runtime's side of a job type grain: pollers make sure its maintenance runs.</summary>
public interface IJobTypeMaintenanceGrain : IGrainWithStringKey
{
    /// <summary>Registers the type's durable reminder (once) and starts its maintenance timer.</summary>
    Task EnsureMaintenanceAsync();

    /// <summary>Runs one maintenance pass now (stale-job warning, history pruning) rather than at the next tick.</summary>
    Task RunMaintenanceAsync();
}
