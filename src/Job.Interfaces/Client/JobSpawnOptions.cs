using System.Text.Json;

namespace Job;

/// <summary>
/// How <see cref="JobGrainFactoryExtensions"/> spawns a job: when it is due, its serial queue, its
/// priority, and how its config becomes JSON. One instance can be kept and varied with <c>with</c>
/// (<c>options with { QueueId = … }</c>); null everywhere means "due now, no queue, priority 0, the
/// workers' JSON defaults".
/// </summary>
public sealed record JobSpawnOptions
{
    /// <summary>
    /// <see cref="JsonSerializerDefaults.Web"/> (camelCase names, case-insensitive reads): what the workers
    /// read configs with unless their <c>JobsOptions.JsonSerializerOptions</c> says otherwise, so a config
    /// serialized with it deserializes in the runner as the same value. Shared and read-only.
    /// </summary>
    public static JsonSerializerOptions DefaultJsonSerializerOptions { get; } = CreateDefault();

    /// <summary>When the job is due, on the workers' application clock; null or a past time means now.</summary>
    public DateTimeOffset? ScheduleAt { get; init; }

    /// <summary>A serial queue (1–256 characters): across the cluster at most one job of a queue runs at a
    /// time (or the queue's limit), in due order.</summary>
    public string? QueueId { get; init; }

    /// <summary>Higher runs first among the type's due jobs; default 0.</summary>
    public short Priority { get; init; }

    /// <summary>How the config is serialized; null means <see cref="DefaultJsonSerializerOptions"/>. Give the
    /// options the workers read configs with when they are not the default.</summary>
    public JsonSerializerOptions? JsonSerializerOptions { get; init; }

    private static JsonSerializerOptions CreateDefault()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web);
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }
}
