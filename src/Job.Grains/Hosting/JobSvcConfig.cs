using System.Net;
using Npgsql;

namespace Job;

/// <summary>
/// The configuration of the crate-style service (<see cref="Jobs.InitAsync"/>), built with
/// <see cref="Builder"/>, which validates the combination once so a bad one fails at start-up
/// with a clear message rather than later.
/// </summary>
public sealed class JobSvcConfig
{
    internal JobSvcConfig(JobSvcConfigBuilder b)
    {
        ConnectionString = b.ConnectionStringValue;
        DataSource = b.DataSourceValue;
        ExecMigrations = b.ExecMigrationsValue ?? b.ConnectionStringValue is not null;
        PollerConfig = b.PollerConfigValue;
        Clock = b.ClockValue;
        ClusterId = b.ClusterIdValue;
        ServiceId = b.ServiceIdValue;
        AdvertisedAddress = b.AdvertisedAddressValue;
        SiloPort = b.SiloPortValue;
        GatewayPort = b.GatewayPortValue;
        ConfigureLogging = b.ConfigureLoggingValue;
        HistoryRetention = b.HistoryRetentionValue;
        Schema = b.SchemaValue;
    }

    /// <summary>Starts a builder.</summary>
    public static JobSvcConfigBuilder Builder() => new();

    /// <summary>The connection string, when the service opens its own pool.</summary>
    public string? ConnectionString { get; }
    /// <summary>The caller's data source, when it shares its pool.</summary>
    public NpgsqlDataSource? DataSource { get; }
    /// <summary>Whether migrations run at start.</summary>
    public bool ExecMigrations { get; }
    /// <summary>How this process claims and runs jobs.</summary>
    public JobPollerConfig PollerConfig { get; }
    /// <summary>The application clock.</summary>
    public ClockHandle Clock { get; }
    /// <summary>The Orleans cluster this process joins: every process on one database with the same
    /// ids forms one cluster.</summary>
    public string ClusterId { get; }
    /// <summary>The Orleans service id (part of reminder and storage keys: keep it stable).</summary>
    public string ServiceId { get; }
    /// <summary>
    /// The address other silos reach this one at, which it also listens on; set with
    /// <see cref="JobSvcConfigBuilder.Endpoint"/>. Null (the default): <see cref="Jobs.InitAsync"/> takes the
    /// address of this host's interface that routes to the database server, because every silo reaches the
    /// database and so most likely this interface too (loopback would keep silos on other hosts out); it is
    /// loopback when the database is on this host's loopback or a Unix socket, or when no route is found
    /// (then a warning is logged).
    /// </summary>
    public IPAddress? AdvertisedAddress { get; }
    /// <summary>The silo-to-silo port; 0 picks a free one.</summary>
    public int SiloPort { get; }
    /// <summary>The client gateway port; 0 picks a free one.</summary>
    public int GatewayPort { get; }
    /// <summary>How long finished jobs and their history are kept; null: forever.</summary>
    public TimeSpan? HistoryRetention { get; }

    /// <summary>The PostgreSQL schema of Job's tables (see <see cref="JobsOptions.Schema"/>).</summary>
    public string Schema { get; }
    internal Action<Microsoft.Extensions.Logging.ILoggingBuilder>? ConfigureLogging { get; }

    /// <summary>Maps this configuration onto the runtime's one set of options.</summary>
    internal void ApplyTo(JobsOptions options)
    {
        options.ConnectionString = ConnectionString;
        options.DataSource = DataSource;
        options.ExecMigrations = ExecMigrations;
        options.Apply(PollerConfig);
        options.Clock = Clock;
        options.HistoryRetention = HistoryRetention;
        options.Schema = Schema;
        options.StartPollingWithSilo = false;
    }
}

/// <summary>Builds a <see cref="JobSvcConfig"/>; <see cref="Build"/> checks the combination.</summary>
public sealed class JobSvcConfigBuilder
{
    internal string? ConnectionStringValue { get; private set; }
    internal NpgsqlDataSource? DataSourceValue { get; private set; }
    internal bool? ExecMigrationsValue { get; private set; }
    internal JobPollerConfig PollerConfigValue { get; private set; } = new();
    internal ClockHandle ClockValue { get; private set; } = ClockHandle.Realtime();
    internal string ClusterIdValue { get; private set; } = "job";
    internal string ServiceIdValue { get; private set; } = "job";
    internal IPAddress? AdvertisedAddressValue { get; private set; }
    internal int SiloPortValue { get; private set; }
    internal int GatewayPortValue { get; private set; }
    internal TimeSpan? HistoryRetentionValue { get; private set; }
    internal string SchemaValue { get; private set; } = JobSchema.Default.Name;
    internal Action<Microsoft.Extensions.Logging.ILoggingBuilder>? ConfigureLoggingValue { get; private set; }

    /// <summary>Connect with this connection string (the service owns the pool).</summary>
    public JobSvcConfigBuilder PgCon(string connectionString) { ConnectionStringValue = connectionString; return this; }

    /// <summary>Share the application's data source (migrations then default to off, as in the crate).</summary>
    public JobSvcConfigBuilder DataSource(NpgsqlDataSource dataSource) { DataSourceValue = dataSource; return this; }

    /// <summary>Whether to apply missing migrations at start.</summary>
    public JobSvcConfigBuilder ExecMigrations(bool run) { ExecMigrationsValue = run; return this; }

    /// <summary>How this process claims and runs jobs.</summary>
    public JobSvcConfigBuilder PollerConfig(JobPollerConfig config) { PollerConfigValue = config; return this; }

    /// <summary>The application clock (an artificial one in tests).</summary>
    public JobSvcConfigBuilder Clock(ClockHandle clock) { ClockValue = clock; return this; }

    /// <summary>The Orleans cluster and service ids (defaults "job", "job").</summary>
    public JobSvcConfigBuilder Cluster(string clusterId, string serviceId = "job") { ClusterIdValue = clusterId; ServiceIdValue = serviceId; return this; }

    /// <summary>
    /// Where other silos reach this one (it listens there too), and its ports (0 = a free port). Without
    /// it, the silo advertises this host's address on the route to the database server (see
    /// <see cref="JobSvcConfig.AdvertisedAddress"/>); set it when the other silos reach this host at
    /// another of its addresses (several interfaces), or to loopback to keep a single-host cluster private.
    /// </summary>
    public JobSvcConfigBuilder Endpoint(IPAddress advertisedAddress, int siloPort = 0, int gatewayPort = 0)
    {
        ArgumentNullException.ThrowIfNull(advertisedAddress);
        AdvertisedAddressValue = advertisedAddress;
        SiloPortValue = siloPort;
        GatewayPortValue = gatewayPort;
        return this;
    }

    /// <summary>Configures logging of the in-process silo, replacing the default (the console, with Job's
    /// messages from Information and everything else from Warning).</summary>
    public JobSvcConfigBuilder Logging(Action<Microsoft.Extensions.Logging.ILoggingBuilder> configure) { ConfigureLoggingValue = configure; return this; }

    /// <summary>Delete finished jobs and their history once they are this old (application clock), and
    /// live jobs' events as old (but their provenance and their last two executions'); see
    /// <see cref="JobsOptions.HistoryRetention"/>. Not set: kept forever.</summary>
    public JobSvcConfigBuilder HistoryRetention(TimeSpan retention) { HistoryRetentionValue = retention; return this; }

    /// <summary>The PostgreSQL schema of Job's tables (default <c>job</c>); every process of the cluster
    /// uses the same.</summary>
    public JobSvcConfigBuilder Schema(string schema) { SchemaValue = schema; return this; }

    /// <summary>Checks the combination and builds.</summary>
    /// <exception cref="ArgumentException">Neither or both of <see cref="PgCon"/> and <see cref="DataSource"/>
    /// were given, or another value is out of range; the message names it.</exception>
    public JobSvcConfig Build()
    {
        if (ConnectionStringValue is null && DataSourceValue is null)
        {
            throw new ArgumentException("One of PgCon or DataSource must be set.");
        }

        if (ConnectionStringValue is not null && DataSourceValue is not null)
        {
            throw new ArgumentException("Only one of PgCon or DataSource must be set.");
        }

        if (ConnectionStringValue is { } cs)
        {
            try
            {
                _ = new NpgsqlConnectionStringBuilder(cs);
            }
            catch (ArgumentException ex)
            {
                throw new ArgumentException($"PgCon is not a valid PostgreSQL connection string: {ex.Message}", ex);
            }
        }

        ArgumentNullException.ThrowIfNull(PollerConfigValue);
        ArgumentNullException.ThrowIfNull(ClockValue);
        PollerConfigValue.Validate();
        var options = new JobsOptions();
        new JobSvcConfig(this).ApplyTo(options);
        if (JobsOptionsValidator.Failures(options).FirstOrDefault() is { } failure)
        {
            throw new ArgumentException(failure.Replace("JobsOptions.", "", StringComparison.Ordinal));
        }

        if (string.IsNullOrWhiteSpace(ClusterIdValue) || string.IsNullOrWhiteSpace(ServiceIdValue))
        {
            throw new ArgumentException("ClusterId and ServiceId must not be empty.");
        }

        if (SiloPortValue is < 0 or > 65535 || GatewayPortValue is < 0 or > 65535)
        {
            throw new ArgumentException($"Ports must be between 0 and 65535 (silo {SiloPortValue}, gateway {GatewayPortValue}).");
        }

        return new JobSvcConfig(this);
    }
}
