using System.Text.RegularExpressions;
using Job.Tests.Infrastructure;
using Job.Worker;

namespace Job.Tests.Worker;

/// <summary>
/// README.md's settings table is what operators read and what .ci/check-deploy.sh checks the deploy
/// files against, so it must list exactly the keys the worker's strict binders accept.
/// </summary>
public sealed partial class SettingsDocumentationTests
{
    [Fact]
    public void The_readme_table_lists_every_worker_setting_and_no_other()
    {
        var documented = SettingsTable().Matches(File.ReadAllText(Path.Combine(BuiltPrograms.RepositoryRoot(), "README.md")))
            .Select(m => m.Groups[1].Value)
            .ToHashSet(StringComparer.Ordinal);

        var bound = JobsConfigurationBinder.Keys.Select(k => $"{JobsOptions.SectionName}:{k}")
            .Concat(Keys(WorkerOrleansOptions.Section))
            .Concat(Keys(WorkerHealthOptions.Section))
            .Concat(Keys(WorkerMetricsOptions.Section))
            .Concat(Keys(WorkerOtlpOptions.Section))
            .Concat(Keys(WorkerDashboardOptions.Section))
            .Append("ConnectionStrings:Jobs")
            .Except(JobsConfigurationBinder.EmbeddingOnly.Select(k => $"{JobsOptions.SectionName}:{k}"))
            .ToHashSet(StringComparer.Ordinal);
        var silo = new[] { "Embedded:DataDirectory", "Embedded:Port", "Demo:SpawnOnStart", "Logging:LogLevel:*" };

        Assert.Empty(bound.Except(documented));
        Assert.Empty(documented.Except(bound).Except(silo));
    }

    private static IEnumerable<string> Keys<T>(StrictConfigurationSection<T> section)
        where T : class => section.Keys.Select(k => $"{section.Name}:{k}");

    [GeneratedRegex(@"^\| `([A-Za-z]+:[A-Za-z:*]+)` \|", RegexOptions.Multiline)]
    private static partial Regex SettingsTable();
}
