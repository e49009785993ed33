namespace Job.Hosting;

/// <summary>Makes spawners bound to this silo's runtime (and the cluster, for spawn-unique).</summary>
internal sealed class JobSpawnerFactory(JobRuntime runtime, IGrainFactory grains)
{
    public JobSpawner<TConfig> Create<TConfig>(JobType jobType) => new(jobType, runtime, grains);
}
