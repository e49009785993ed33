using Microsoft.Extensions.Configuration;

namespace Job.Worker;

/// <summary>
/// The configuration a worker reads, checked without building a host: for commands that need the
/// database but not a silo (a <c>migrate</c> verb), and for entry points that refuse settings of
/// sections nobody reads.
/// </summary>
public static class JobWorkerConfiguration
{
    /// <summary>The top-level sections a worker reads: <c>Jobs</c>, <c>Orleans</c>, <c>Health</c>,
    /// <c>Metrics</c>, <c>Otlp</c>, <c>Dashboard</c>, <c>ConnectionStrings</c> and <c>Logging</c>.</summary>
    public static IReadOnlyList<string> Sections { get; } =
    [
        JobsOptions.SectionName,
        WorkerOrleansOptions.SectionName,
        WorkerHealthOptions.SectionName,
        WorkerMetricsOptions.SectionName,
        WorkerOtlpOptions.SectionName,
        WorkerDashboardOptions.SectionName,
        "ConnectionStrings",
        "Logging",
    ];

    /// <summary>The job database's connection string: <c>Jobs:ConnectionString</c>, else
    /// <c>ConnectionStrings:Jobs</c>; null when neither is set.</summary>
    public static string? ConnectionString(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return NonEmpty(configuration[$"{JobsOptions.SectionName}:{nameof(JobsOptions.ConnectionString)}"])
            ?? NonEmpty(configuration.GetConnectionString("Jobs"));
    }

    /// <summary>Binds every section a worker reads, strictly, and throws at the first unknown key or
    /// malformed value. Range checks run when a host starts (the options' validators).</summary>
    /// <exception cref="JobsConfigurationException">The message names the key, never the value.</exception>
    public static void Check(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        JobsConfigurationBinder.Bind(configuration.GetSection(JobsOptions.SectionName), new JobsOptions(), JobsConfigurationBinder.EmbeddingOnly);
        WorkerOrleansOptions.Section.Bind(configuration, new WorkerOrleansOptions());
        WorkerHealthOptions.Section.Bind(configuration, new WorkerHealthOptions());
        WorkerMetricsOptions.Section.Bind(configuration, new WorkerMetricsOptions());
        WorkerOtlpOptions.Section.Bind(configuration, new WorkerOtlpOptions());
        WorkerDashboardOptions.Section.Bind(configuration, new WorkerDashboardOptions());
    }

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}
