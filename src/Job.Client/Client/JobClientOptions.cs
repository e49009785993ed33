using System.Text.Json;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Job;

/// <summary>
/// How a <see cref="JobClient"/> reaches Job's database: a connection string or the application's
/// own data source (exactly one), and the schema Job's tables live in. Checked when the client is
/// first built (<see cref="JobClientOptionsValidator"/>).
/// </summary>
public sealed class JobClientOptions
{
    /// <summary>The PostgreSQL connection string. Exactly one of this and <see cref="DataSource"/>.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>The application's data source: spawns then share its pool (and can join its transactions).</summary>
    public NpgsqlDataSource? DataSource { get; set; }

    /// <summary>The schema of Job's tables; the workers must use the same. Default <c>job</c>.</summary>
    public string Schema { get; set; } = JobSchema.Default.Name;

    /// <summary>The application clock for spawn times. Default: real time.</summary>
    public ClockHandle Clock { get; set; } = ClockHandle.Realtime();

    /// <summary>How configs are serialized; the workers must read them the same way.
    /// Default: <see cref="JsonSerializerDefaults.Web"/>.</summary>
    public JsonSerializerOptions JsonSerializerOptions { get; set; } = new(JsonSerializerDefaults.Web);

    /// <summary>The largest config accepted, in UTF-8 bytes. Default 1 MiB.</summary>
    public int MaxConfigBytes { get; set; } = JobLimits.DefaultMaxConfigBytes;
}

/// <summary>The rules for <see cref="JobClientOptions"/>.</summary>
public sealed class JobClientOptionsValidator : IValidateOptions<JobClientOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, JobClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = JobLimits.ConnectionFailures(options.ConnectionString, options.DataSource, "JobClientOptions")
            .Concat(JobLimits.SchemaFailures(options.Schema, "JobClientOptions"))
            .Concat(JobLimits.ConfigBytesFailures(options.MaxConfigBytes, "JobClientOptions"))
            .ToList();
        if (options.Clock is null)
        {
            failures.Add("JobClientOptions.Clock must be set.");
        }

        if (options.JsonSerializerOptions is null)
        {
            failures.Add("JobClientOptions.JsonSerializerOptions must be set.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

/// <summary>The limits and rules that the client's and the runtime's options share.</summary>
public static class JobLimits
{
    /// <summary>The default largest config, 1 MiB.</summary>
    public const int DefaultMaxConfigBytes = 1 << 20;

    /// <summary>The largest config a job may have: PostgreSQL stores it as jsonb, and every run reads it.</summary>
    public const int MaxConfigBytesLimit = 64 << 20;

    internal static IEnumerable<string> ConnectionFailures(string? connectionString, NpgsqlDataSource? dataSource, string owner)
    {
        if (string.IsNullOrWhiteSpace(connectionString) == (dataSource is null))
        {
            yield return dataSource is null
                ? $"Jobs need a database: set {owner}.ConnectionString (configuration: ConnectionStrings:Jobs or Jobs:ConnectionString) or {owner}.DataSource."
                : $"Set only one of {owner}.ConnectionString and {owner}.DataSource, not both.";
        }
        else if (connectionString is not null && ConnectionStringProblem(connectionString) is { } problem)
        {
            // Never echo the connection string: it may hold a password.
            // Named by its configuration keys too: a worker or Job.Silo user set one of those, not a property.
            yield return $"The connection string ({owner}.ConnectionString; in configuration ConnectionStrings:Jobs or Jobs:ConnectionString) is not a valid PostgreSQL connection string: {problem}";
        }
    }

    internal static IEnumerable<string> SchemaFailures(string? schema, string owner)
    {
        if (!JobSchema.IsValid(schema))
        {
            yield return $"{owner}.Schema must be 1 to 63 lowercase letters, digits and underscores, starting with a letter or underscore (it is \"{schema}\").";
        }
    }

    internal static IEnumerable<string> ConfigBytesFailures(int maxConfigBytes, string owner)
    {
        if (maxConfigBytes is < 2 or > MaxConfigBytesLimit)
        {
            yield return $"{owner}.MaxConfigBytes must be between 2 and {MaxConfigBytesLimit} (it is {maxConfigBytes}).";
        }
    }

    private static string? ConnectionStringProblem(string connectionString)
    {
        try
        {
            _ = new NpgsqlConnectionStringBuilder(connectionString);
            return null;
        }
        catch (ArgumentException ex)
        {
            // Npgsql names the keyword, never the value.
            return ex.Message;
        }
    }
}
