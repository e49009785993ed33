using System.Collections.Concurrent;

namespace Job.Execution;

/// <summary>
/// The job types this process runs. Registration closes when polling starts: a poller claims only
/// the types registered here, so a type added later would never be claimed by this process.
/// </summary>
internal sealed class JobRegistry
{
    private readonly ConcurrentDictionary<string, RegisteredJobType> _types = new(StringComparer.Ordinal);
    private volatile bool _sealed;

    public bool IsSealed => _sealed;

    public void Add(RegisteredJobType type)
    {
        if (_sealed)
        {
            throw new InvalidOperationException($"Cannot register job type '{type.JobType}': polling has started and the registry is closed. Register every initializer before StartPollAsync.");
        }

        if (!_types.TryAdd(type.JobType.Name, type))
        {
            throw new InvalidOperationException($"Job type '{type.JobType}' is already registered in this process; each type has one initializer.");
        }
    }

    public void Seal() => _sealed = true;

    public RegisteredJobType? Find(string jobType) => _types.GetValueOrDefault(jobType);

    public string[] TypeNames => [.. _types.Keys.Order(StringComparer.Ordinal)];
}
