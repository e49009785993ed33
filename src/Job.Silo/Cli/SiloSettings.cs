using System.Globalization;
using System.Net;
using Microsoft.Extensions.Configuration;
using Npgsql;

namespace Job.Silo.Cli;

/// <summary>
/// The silo host's settings, read once from configuration (appsettings.json, environment variables with
/// <c>__</c> for <c>:</c>, command-line <c>--Key=Value</c>) and checked, so that a bad value ends the
/// process with one line naming the key instead of a failure deep inside Orleans.
/// </summary>
internal sealed record SiloSettings
{
    /// <summary>The PostgreSQL connection string; null means "start the embedded server".</summary>
    public string? ConnectionString { get; init; }
    public string ClusterId { get; init; } = "job";
    public string ServiceId { get; init; } = "job";
    public int SiloPort { get; init; } = 11111;
    public int GatewayPort { get; init; } = 30000;
    public IPAddress AdvertisedIP { get; init; } = IPAddress.Loopback;
    public JobPollerConfig Poller { get; init; } = new();
    /// <summary>How long finished jobs are kept; null keeps them forever.</summary>
    public TimeSpan? HistoryRetention { get; init; }
    /// <summary>See <see cref="JobsOptions.MembershipProbeTimeout"/>.</summary>
    public TimeSpan? MembershipProbeTimeout { get; init; } = new JobsOptions().MembershipProbeTimeout;
    /// <summary>See <see cref="JobsOptions.MembershipPauseTolerance"/>.</summary>
    public TimeSpan? MembershipPauseTolerance { get; init; } = new JobsOptions().MembershipPauseTolerance;
    public int HealthPort { get; init; }
    public string EmbeddedDataDirectory { get; init; } = Path.GetFullPath(Path.Combine(".local", "pg"));
    public int EmbeddedPort { get; init; }
    public int DemoSpawnOnStart { get; init; }

    /// <summary>Orleans listens on every address when the advertised one is not loopback (containers, pods).</summary>
    public bool ListenOnAnyHostAddress => !IPAddress.IsLoopback(AdvertisedIP);

    /// <summary>Reads and checks every setting.</summary>
    /// <exception cref="SiloStartupException">A value is malformed or out of range; the message names the key.</exception>
    public static SiloSettings Read(IConfiguration config)
    {
        var defaults = new JobPollerConfig();
        var poller = new JobPollerConfig
        {
            MaxJobsPerProcess = Int(config, "Jobs:MaxJobsPerProcess", defaults.MaxJobsPerProcess, 1, int.MaxValue),
            MinJobsPerProcess = Int(config, "Jobs:MinJobsPerProcess", defaults.MinJobsPerProcess, 1, int.MaxValue),
            ShutdownTimeout = Time(config, "Jobs:ShutdownTimeout", defaults.ShutdownTimeout),
            JobLostInterval = Time(config, "Jobs:JobLostInterval", defaults.JobLostInterval),
            MaxPollInterval = Time(config, "Jobs:MaxPollInterval", defaults.MaxPollInterval),
        };
        try
        {
            poller.Validate();
        }
        catch (ArgumentException ex)
        {
            throw new SiloStartupException(ex.Message.Replace("JobPollerConfig.", "Jobs:", StringComparison.Ordinal));
        }

        var jobDefaults = new JobsOptions();
        var membership = new JobsOptions
        {
            ConnectionString = "Host=localhost", // only the membership rules are checked here
            MembershipProbeTimeout = Time(config, "Jobs:MembershipProbeTimeout", jobDefaults.MembershipProbeTimeout!.Value),
            MembershipPauseTolerance = Time(config, "Jobs:MembershipPauseTolerance", jobDefaults.MembershipPauseTolerance!.Value),
        };
        try
        {
            membership.Validate();
        }
        catch (ArgumentException ex)
        {
            throw new SiloStartupException(ex.Message.Replace("JobsOptions.", "Jobs:", StringComparison.Ordinal));
        }

        var connectionString = NonEmpty(config.GetConnectionString("Jobs"));
        if (connectionString is not null)
        {
            try
            {
                _ = new NpgsqlConnectionStringBuilder(connectionString);
            }
            catch (ArgumentException ex)
            {
                throw new SiloStartupException($"ConnectionStrings:Jobs is not a valid PostgreSQL connection string: {ex.Message}");
            }
        }

        return new SiloSettings
        {
            ConnectionString = connectionString,
            ClusterId = NonEmpty(config["Orleans:ClusterId"]) ?? "job",
            ServiceId = NonEmpty(config["Orleans:ServiceId"]) ?? "job",
            SiloPort = Int(config, "Orleans:SiloPort", 11111, 0, 65535),
            GatewayPort = Int(config, "Orleans:GatewayPort", 30000, 0, 65535),
            AdvertisedIP = Address(config, "Orleans:AdvertisedIP"),
            Poller = poller,
            HistoryRetention = Retention(config, "Jobs:HistoryRetention"),
            MembershipProbeTimeout = membership.MembershipProbeTimeout,
            MembershipPauseTolerance = membership.MembershipPauseTolerance,
            HealthPort = Int(config, "Health:Port", 0, 0, 65535),
            EmbeddedDataDirectory = Path.GetFullPath(NonEmpty(config["Embedded:DataDirectory"]) ?? Path.Combine(".local", "pg")),
            EmbeddedPort = Int(config, "Embedded:Port", 0, 0, 65535),
            DemoSpawnOnStart = Int(config, "Demo:SpawnOnStart", 0, 0, 1_000_000),
        };
    }

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    private static int Int(IConfiguration config, string key, int fallback, int min, int max)
    {
        if (NonEmpty(config[key]) is not { } text)
        {
            return fallback;
        }

        return int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max
            ? value
            : throw new SiloStartupException($"{key} must be a whole number from {min} to {max}, not \"{text}\".");
    }

    private static TimeSpan Time(IConfiguration config, string key, TimeSpan fallback)
    {
        if (NonEmpty(config[key]) is not { } text)
        {
            return fallback;
        }

        return TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new SiloStartupException($"{key} must be a time span such as 00:00:30 (hh:mm:ss), not \"{text}\".");
    }

    private static TimeSpan? Retention(IConfiguration config, string key)
    {
        if (NonEmpty(config[key]) is null)
        {
            return null;
        }

        var value = Time(config, key, TimeSpan.Zero);
        return value >= TimeSpan.FromSeconds(1)
            ? value
            : throw new SiloStartupException($"{key} must be at least 00:00:01, or unset to keep finished jobs forever (it is {value}).");
    }

    private static IPAddress Address(IConfiguration config, string key)
    {
        if (NonEmpty(config[key]) is not { } text)
        {
            return IPAddress.Loopback;
        }

        return IPAddress.TryParse(text, out var address) && !address.Equals(IPAddress.Any) && !address.Equals(IPAddress.IPv6Any)
            ? address
            : throw new SiloStartupException($"{key} must be the IP address other silos reach this one at (for example 10.0.0.5), not \"{text}\".");
    }
}
