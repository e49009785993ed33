using System.Globalization;
using Job.Worker;
using Microsoft.Extensions.Configuration;

namespace Job.Silo.Commands;

/// <summary>
/// The silo host's own settings on top of a worker's: the embedded PostgreSQL it starts when no
/// connection string is set (<c>Embedded</c>), and its demo (<c>Demo</c>). Defaults live here, not in
/// a configuration file, so nothing has to ship next to the program.
/// </summary>
internal sealed class SiloSettings
{
    /// <summary>Where the embedded PostgreSQL keeps its data (relative to the working directory). Default <c>.local/pg</c>.</summary>
    public string EmbeddedDataDirectory { get; set; } = Path.Combine(".local", "pg");

    /// <summary>The embedded PostgreSQL's port; 0 takes a free one.</summary>
    public int EmbeddedPort { get; set; }

    /// <summary>Spawn this many demo.hello jobs (and one demo.flaky, the demo.recurring job) at start.</summary>
    public int DemoSpawnOnStart { get; set; }

    /// <summary>The top-level sections a setting on this program's command line may name.</summary>
    public static IReadOnlyList<string> Sections { get; } = [.. JobWorkerConfiguration.Sections, "Embedded", "Demo"];

    private static readonly StrictConfigurationSection<SiloSettings> s_embedded = new("Embedded", new Dictionary<string, Action<SiloSettings, string, string>>
    {
        ["DataDirectory"] = (o, _, v) => o.EmbeddedDataDirectory = v,
        ["Port"] = (o, k, v) => o.EmbeddedPort = Whole(k, v, 0, 65535),
    });

    private static readonly StrictConfigurationSection<SiloSettings> s_demo = new("Demo", new Dictionary<string, Action<SiloSettings, string, string>>
    {
        ["SpawnOnStart"] = (o, k, v) => o.DemoSpawnOnStart = Whole(k, v, 0, 1_000_000),
    });

    /// <summary>
    /// Checks every setting this program reads, strictly (the worker's sections too), and returns the
    /// silo's own. Settings given on the command line must also belong to a known section.
    /// </summary>
    /// <exception cref="JobsConfigurationException">A key is unknown or a value malformed; the message names the key.</exception>
    public static SiloSettings Read(IConfiguration configuration, IEnumerable<string> commandLineKeys)
    {
        foreach (var key in commandLineKeys)
        {
            var section = key.Split(':', 2)[0];
            if (!Sections.Contains(section, StringComparer.OrdinalIgnoreCase))
            {
                throw new JobsConfigurationException(
                    $"{key} is not a setting of Job.Silo (misspelled?). Settings are in the sections {string.Join(", ", Sections)}.");
            }
        }

        JobWorkerConfiguration.Check(configuration);
        var settings = new SiloSettings();
        s_embedded.Bind(configuration, settings);
        s_demo.Bind(configuration, settings);
        settings.EmbeddedDataDirectory = Path.GetFullPath(settings.EmbeddedDataDirectory);
        return settings;
    }

    /// <summary>Configuration as the verbs read it: an optional appsettings.json in the working
    /// directory, then environment variables, then the command-line settings.</summary>
    public static IConfigurationRoot Build(IReadOnlyDictionary<string, string?> commandLine) =>
        new ConfigurationBuilder()
            .SetBasePath(Directory.GetCurrentDirectory())
            .AddJsonFile("appsettings.json", optional: true, reloadOnChange: false)
            .AddEnvironmentVariables()
            .AddInMemoryCollection(commandLine)
            .Build();

    private static int Whole(string key, string text, int min, int max) =>
        int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max
            ? value
            : throw new JobsConfigurationException($"{key} must be a whole number from {min} to {max}.");
}
