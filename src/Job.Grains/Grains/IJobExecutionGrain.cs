using Job.Storage;

namespace Job.Grains;

/// <summary>
/// The runtime's side of a <see cref="JobGrain"/>: the poller hands it each claim of its job. Not
/// for clients (they use <see cref="IJobGrain"/>); it lives here, with the silo runtime.
/// </summary>
public interface IJobExecutionGrain : IGrainWithGuidKey
{
    /// <summary>Starts running the claim on this silo and returns at once; the run reports its end
    /// to the silo's poller, so a long job never holds a grain call open.</summary>
    /// <returns>False when this silo does not hold the claim (the grain was placed elsewhere, which
    /// Orleans does when the calling silo is no longer active) or it was taken already: the caller
    /// hands it back.</returns>
    /// <exception cref="ArgumentException">The claim is for another job.</exception>
    Task<bool> StartAsync(ClaimedJob claim);
}
