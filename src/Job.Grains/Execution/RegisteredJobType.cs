using Job.Hosting;

namespace Job.Execution;

/// <summary>A registered job type with its config type erased, so the registry can hold them all.</summary>
internal abstract class RegisteredJobType
{
    public abstract JobType JobType { get; }
    public abstract RetrySettings RetrySettings { get; }
    public abstract IJobRunner Init(Job job);
}

internal sealed class RegisteredJobType<TConfig> : RegisteredJobType
{
    private readonly IJobInitializer<TConfig> _initializer;
    private readonly Func<JobSpawner<TConfig>> _spawnerFactory;
    private JobSpawner<TConfig>? _spawner;

    public RegisteredJobType(IJobInitializer<TConfig> initializer, Func<JobSpawner<TConfig>> spawnerFactory)
    {
        _initializer = initializer;
        _spawnerFactory = spawnerFactory;
        JobType = initializer.JobType;
        RetrySettings = initializer.RetryOnErrorSettings ?? RetrySettings.Default;
        RetrySettings.Validate();
    }

    public override JobType JobType { get; }
    public override RetrySettings RetrySettings { get; }
    // One spawner per type, made on first use (a spawner is stateless and thread-safe).
    public override IJobRunner Init(Job job) =>
        _initializer.Init(job, _spawner ??= _spawnerFactory()) ?? throw new InvalidOperationException($"The initializer of {JobType} returned no runner.");
}
