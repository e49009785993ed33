using Job.Storage;

namespace Job.Grains;

/// <summary>
/// Runs one claim of a job (key = the claim's fencing token). A fresh key per claim means every
/// claim starts a fresh activation on the silo that claimed it: a stale run of the same job, still
/// stuck on a silo that is shutting down or was declared dead, can never capture the new claim.
/// </summary>
public interface IJobRunGrain : IGrainWithIntegerKey
{
    /// <summary>Runs the claim to its end and records the outcome. Long-running by nature, so the
    /// call's timeout is generous; the job's own limits are the runner's business.</summary>
    [ResponseTimeout("7.00:00:00")]
    Task ExecuteAsync(ClaimedJob claim);
}
