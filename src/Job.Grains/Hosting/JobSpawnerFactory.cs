namespace Job.Hosting;

/// <summary>Makes spawners bound to this silo's database context.</summary>
internal sealed class JobSpawnerFactory(JobRuntime runtime)
{
    public JobSpawner<TConfig> Create<TConfig>(JobType jobType) => new(jobType, runtime.Context);
}
