using Job.Execution;
using Job.Storage;
using Orleans.Placement;

namespace Job.Grains;

/// <summary>One claim's run, on the claiming silo; deactivates as soon as the run is written.</summary>
[PreferLocalPlacement]
[GrainType("job-run")]
internal sealed class JobRunGrain(JobExecutor executor, JobShutdownSignal shutdown) : Grain, IJobRunGrain
{
    public async Task ExecuteAsync(ClaimedJob claim)
    {
        try
        {
            await executor.ExecuteAsync(claim, shutdown.Token);
        }
        finally
        {
            DeactivateOnIdle();
        }
    }
}
