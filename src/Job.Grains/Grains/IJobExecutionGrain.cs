using Job.Storage;

namespace Job.Grains;

/// <summary>
/// The runtime's side of a job grain: a silo's poller hands it a claim to run. Separate from
/// <see cref="IJobGrain"/>, which is what clients see.
/// </summary>
public interface IJobExecutionGrain : IGrainWithGuidKey
{
    /// <summary>Runs one claimed execution to its end and records the outcome. Long-running by
    /// nature, so the call's timeout is generous; the job's own limits are the runner's business.</summary>
    [ResponseTimeout("7.00:00:00")]
    Task ExecuteAsync(ClaimedJob claim);
}
