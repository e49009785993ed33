using System.Text.Json;
using Job.Scheduling;

namespace Job.Hosting;

/// <summary>A recurring schedule declared in code (<c>services.AddRecurringJob</c>, <c>jobs.AddRecurring</c>),
/// checked when declared and written when the silo starts (its config serialized then, with the
/// runtime's serializer options).</summary>
internal sealed class ScheduleDeclaration
{
    private readonly Func<JsonSerializerOptions, int, ScheduleDefinition> _build;

    private ScheduleDeclaration(string name, JobType jobType, Func<JsonSerializerOptions, int, ScheduleDefinition> build)
    {
        Name = name;
        JobType = jobType;
        _build = build;
    }

    public string Name { get; }

    public JobType JobType { get; }

    public ScheduleDefinition Build(JsonSerializerOptions json, int maxConfigBytes) => _build(json, maxConfigBytes);

    /// <summary>Checks the spec at once (a bad expression or time zone fails at the declaration, not at start).</summary>
    /// <exception cref="InvalidJobScheduleException">A field is invalid.</exception>
    public static ScheduleDeclaration For<TConfig>(JobScheduleSpec<TConfig> spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        _ = ScheduleDefinition.From(spec, new JsonSerializerOptions(JsonSerializerDefaults.Web), JobLimits.MaxConfigBytesLimit);
        return new ScheduleDeclaration(spec.Name, spec.JobType, (json, max) => ScheduleDefinition.From(spec, json, max));
    }
}

/// <summary>A schedule an earlier deploy declared in code that this code retires (<c>services.RetireRecurringJob</c>).</summary>
internal sealed record ScheduleRetirement(string Name);
