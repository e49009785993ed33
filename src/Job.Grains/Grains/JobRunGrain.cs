using Job.Execution;
using Job.Storage;
using Orleans.Concurrency;

namespace Job.Grains;

/// <summary>
/// One claim's run, on the claiming silo. A stateless worker is always activated on the silo that
/// calls it and is never registered in the grain directory, so a run neither crosses the network
/// nor depends on the directory partition of another silo (which may be dead but not yet declared
/// so); it deactivates as soon as the run is written.
/// </summary>
[StatelessWorker(1)]
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
