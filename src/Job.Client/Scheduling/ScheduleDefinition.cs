using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Job.Scheduling;

/// <summary>
/// A schedule's definition with its config as JSON: what the store writes and what a code declaration
/// hashes. Built from a <see cref="JobScheduleSpec{TConfig}"/> by <see cref="From{TConfig}"/>, which
/// checks every field, so an instance is always valid.
/// </summary>
internal sealed record ScheduleDefinition(
    string Name,
    JobType JobType,
    string Cron,
    string TimeZone,
    string ConfigJson,
    short Priority,
    JobMisfirePolicy Misfire,
    TimeSpan MisfireThreshold,
    JobOverlapPolicy Overlap)
{
    /// <summary>The longest schedule name.</summary>
    public const int MaxNameLength = 200;

    /// <summary>The longest <see cref="JobScheduleSpec{TConfig}.MisfireThreshold"/>.</summary>
    public static readonly TimeSpan MaxMisfireThreshold = TimeSpan.FromDays(1);

    public CronSchedule Schedule => CronSchedule.Parse(Name, Cron, TimeZone);

    /// <summary>Checks the spec and serializes its config.</summary>
    /// <exception cref="InvalidJobScheduleException">A field is invalid (a subclass names a bad
    /// expression or time zone).</exception>
    /// <exception cref="InvalidJobConfigException">The config serializes larger than the limit.</exception>
    public static ScheduleDefinition From<TConfig>(JobScheduleSpec<TConfig> spec, JsonSerializerOptions json, int maxConfigBytes)
    {
        ArgumentNullException.ThrowIfNull(spec);
        CheckName(spec.Name);
        if (spec.JobType == default)
        {
            throw new InvalidJobScheduleException($"Schedule '{spec.Name}' names no job type; give it the type of the jobs it spawns.");
        }

        if (spec.Misfire is null)
        {
            throw new InvalidJobScheduleException($"Schedule '{spec.Name}' has no misfire policy; leave it at its default (RunOnce) or choose one.");
        }

        if (spec.MisfireThreshold < TimeSpan.FromSeconds(1) || spec.MisfireThreshold > MaxMisfireThreshold)
        {
            throw new InvalidJobScheduleException($"Schedule '{spec.Name}': the misfire threshold must be between one second and one day (it is {spec.MisfireThreshold}).");
        }

        if (!Enum.IsDefined(spec.Overlap))
        {
            throw new InvalidJobScheduleException($"Schedule '{spec.Name}': {(int)spec.Overlap} is not an overlap policy (Skip, Queue or Allow).");
        }

        _ = CronSchedule.Parse(spec.Name, spec.Cron, spec.TimeZone);
        var config = JobConfigJson.Serialize(spec.Config, json, maxConfigBytes, spec.JobType);
        return new ScheduleDefinition(spec.Name, spec.JobType, spec.Cron.Trim(), spec.TimeZone, config, spec.Priority, spec.Misfire,
            spec.MisfireThreshold, spec.Overlap);
    }

    /// <exception cref="InvalidJobScheduleException">Not a valid schedule name.</exception>
    public static void CheckName(string? name)
    {
        if (Problem(name) is { } problem)
        {
            throw new InvalidJobScheduleException($"'{name}' is not a valid schedule name: {problem}.");
        }
    }

    private static string? Problem(string? name) => NameRule.Problem(name, MaxNameLength);

    public string OverlapStored => Overlap switch
    {
        JobOverlapPolicy.Queue => "queue",
        JobOverlapPolicy.Allow => "allow",
        _ => "skip",
    };

    public static JobOverlapPolicy OverlapFromStored(string overlap) => overlap switch
    {
        "queue" => JobOverlapPolicy.Queue,
        "allow" => JobOverlapPolicy.Allow,
        _ => JobOverlapPolicy.Skip,
    };

    /// <summary>The definition as a JSON object (stored as the declaration, for a reset to code).</summary>
    public string ToJson() => new JsonObject
    {
        ["name"] = Name,
        ["job_type"] = JobType.Name,
        ["cron"] = Cron,
        ["time_zone"] = TimeZone,
        ["config"] = JsonNode.Parse(ConfigJson),
        ["priority"] = Priority,
        ["misfire"] = Misfire.Stored,
        ["misfire_limit"] = Misfire.Limit,
        ["misfire_threshold_ms"] = (long)MisfireThreshold.TotalMilliseconds,
        ["overlap"] = OverlapStored,
    }.ToJsonString();

    /// <summary>Reads <see cref="ToJson"/> back.</summary>
    public static ScheduleDefinition FromJson(string json)
    {
        var o = JsonNode.Parse(json)!.AsObject();
        return new ScheduleDefinition(
            (string)o["name"]!,
            new JobType((string)o["job_type"]!),
            (string)o["cron"]!,
            (string)o["time_zone"]!,
            o["config"]?.ToJsonString() ?? "null",
            (short)o["priority"]!,
            JobMisfirePolicy.FromStored((string)o["misfire"]!, (int)o["misfire_limit"]!),
            TimeSpan.FromMilliseconds((long)o["misfire_threshold_ms"]!),
            OverlapFromStored((string)o["overlap"]!));
    }

    /// <summary>SHA-256 of <see cref="ToJson"/>: equal declarations, equal hashes, on every silo.</summary>
    public string Hash() => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(ToJson())));
}
