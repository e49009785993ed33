using System.Text.Json;

namespace Job;

/// <summary>
/// A point-in-time view of one job, as an Orleans client sees it. Read from the database, which is
/// the source of truth, so it is accurate as of the read, whichever silo runs the job.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record JobSnapshot
{
    /// <summary>The job.</summary>
    [Id(0)] public required JobId Id { get; init; }
    /// <summary>Its type.</summary>
    [Id(1)] public required string JobType { get; init; }
    /// <summary>Where it is in its life.</summary>
    [Id(2)] public required JobStatus Status { get; init; }
    /// <summary>The attempt that runs next or is running (1-based); 0 once terminal.</summary>
    [Id(3)] public int Attempt { get; init; }
    /// <summary>When it is due next (application clock), while pending.</summary>
    [Id(4)] public DateTimeOffset? NextRunAt { get; init; }
    /// <summary>The message of the most recent failure, if any, kept after the job ends.</summary>
    [Id(5)] public string? LastError { get; init; }
    /// <summary>The serialized configuration.</summary>
    [Id(6)] public string ConfigJson { get; init; } = "null";
    /// <summary>The serial queue it belongs to, if any.</summary>
    [Id(7)] public string? QueueId { get; init; }
    /// <summary>When it was created (application clock).</summary>
    [Id(8)] public DateTimeOffset CreatedAt { get; init; }
    /// <summary>When it reached a terminal state.</summary>
    [Id(9)] public DateTimeOffset? FinishedAt { get; init; }

    /// <summary>True once the job can change no more.</summary>
    public bool IsTerminal => Status is JobStatus.Completed or JobStatus.Errored or JobStatus.Cancelled;

    /// <summary>Reads the configuration as <typeparamref name="TConfig"/>, so an Orleans client reads back
    /// what it spawned without handling JSON. <paramref name="options"/> must match what the job was
    /// spawned with; null means <see cref="JobSpawnOptions.DefaultJsonSerializerOptions"/>, the workers' default.</summary>
    /// <exception cref="InvalidJobConfigException">The stored JSON is null or does not fit <typeparamref name="TConfig"/>.</exception>
    public TConfig Config<TConfig>(JsonSerializerOptions? options = null)
    {
        try
        {
            return JsonSerializer.Deserialize<TConfig>(ConfigJson, options ?? JobSpawnOptions.DefaultJsonSerializerOptions)
                ?? throw new InvalidJobConfigException($"The config of job {Id} ({JobType}) is JSON null, which does not fit {typeof(TConfig).Name}.");
        }
        catch (JsonException ex)
        {
            throw new InvalidJobConfigException($"The config of job {Id} ({JobType}) does not deserialize into {typeof(TConfig).Name}: {ex.Message}", ex);
        }
    }
}
