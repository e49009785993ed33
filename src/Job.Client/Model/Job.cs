using System.Text.Json;

namespace Job;

/// <summary>
/// A job as stored: its identity, configuration, terminal state and history. Returned by spawns and
/// <c>FindAsync</c> (on <see cref="JobClient"/> or the facade), and handed to the job type's initializer (<c>IJobInitializer.Init</c>) for every run.
/// </summary>
public sealed class Job
{
    private readonly JsonSerializerOptions _json;

    internal Job(JobId id, JobType jobType, string configJson, JobTerminalState? terminalState, IReadOnlyList<JobEvent> events, JsonSerializerOptions json)
    {
        Id = id;
        JobType = jobType;
        ConfigJson = configJson;
        TerminalState = terminalState;
        Events = events;
        _json = json;
    }

    /// <summary>The job's id.</summary>
    public JobId Id { get; }

    /// <summary>The job's type.</summary>
    public JobType JobType { get; }

    /// <summary>The configuration exactly as stored (JSON).</summary>
    public string ConfigJson { get; }

    /// <summary>True once the job is terminal, whether it completed, errored or was cancelled (the
    /// crate's <c>completed()</c>). Use <see cref="TerminalState"/> to tell which.</summary>
    public bool Completed => TerminalState is not null;

    /// <summary>How the job ended, or null while it is live.</summary>
    public JobTerminalState? TerminalState { get; }

    /// <summary>
    /// The history, oldest first, as of when this value was read. The <see cref="Job"/> given to
    /// <c>Init</c> carries no history (reading it on every run would double each run's cost): call
    /// <c>FindAsync</c> (on <see cref="JobClient"/> or the facade) for it.
    /// </summary>
    public IReadOnlyList<JobEvent> Events { get; }

    /// <summary>Deserializes the configuration.</summary>
    /// <exception cref="InvalidJobConfigException">The stored JSON does not fit <typeparamref name="T"/>.</exception>
    public T Config<T>()
    {
        try
        {
            return JsonSerializer.Deserialize<T>(ConfigJson, _json)
                ?? throw new InvalidJobConfigException($"The config of job {Id} ({JobType}) is JSON null, which does not fit {typeof(T).Name}.");
        }
        catch (JsonException ex)
        {
            throw new InvalidJobConfigException($"The config of job {Id} ({JobType}) does not deserialize into {typeof(T).Name}: {ex.Message}", ex);
        }
    }
}
