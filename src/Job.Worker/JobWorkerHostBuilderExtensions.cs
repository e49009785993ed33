using Job.Telemetry;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Memory;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Orleans.Configuration;

namespace Job.Worker;

/// <summary>
/// The glue every deployable Job worker needs, one extension per concern and
/// <see cref="AddJobWorker"/> to compose them all. Every setting comes from configuration (the
/// sections <c>Orleans</c>, <c>Jobs</c>, <c>Health</c>, <c>Metrics</c>, <c>Otlp</c>, and
/// <c>ConnectionStrings:Jobs</c>), is bound strictly (an unknown key is an error naming it) and is
/// checked when the host starts, so a worker is configured the same way wherever it is deployed.
/// </summary>
public static class JobWorkerHostBuilderExtensions
{
    /// <summary>What the host's shutdown timeout adds to <c>Jobs:ShutdownTimeout</c>: time to hand
    /// unfinished jobs back and leave the cluster after the runners had theirs.</summary>
    public static readonly TimeSpan ShutdownMargin = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Makes this host a Job worker: logging defaults (<see cref="AddJobWorkerLogging"/>), the Orleans
    /// silo with the job runtime (<see cref="AddJobWorkerSilo"/>), graceful shutdown
    /// (<see cref="AddJobWorkerShutdown"/>), health checks and their listener
    /// (<see cref="AddJobWorkerHealth"/>) and metrics (<see cref="AddJobWorkerMetrics"/>). Register the
    /// job types with <c>builder.Services.AddJobInitializer&lt;T&gt;()</c> and map the endpoints with
    /// <c>app.MapJobWorkerEndpoints()</c>.
    /// </summary>
    /// <param name="builder">The application's builder (a <c>WebApplicationBuilder</c> to serve the endpoints).</param>
    /// <param name="configureJobs">Runs after the <c>Jobs</c> section is bound, for what configuration
    /// cannot hold (a data source, a clock).</param>
    /// <exception cref="JobsConfigurationException">A section holds an unknown key or a malformed value.</exception>
    public static IHostApplicationBuilder AddJobWorker(this IHostApplicationBuilder builder, Action<JobsOptions>? configureJobs = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder
            .AddJobWorkerLogging()
            .AddJobWorkerSilo(configureJobs)
            .AddJobWorkerShutdown()
            .AddJobWorkerHealth()
            .AddJobWorkerMetrics()
            .AddJobWorkerDashboard();
    }

    /// <summary>
    /// The Job dashboard from the <c>Dashboard</c> section (<see cref="WorkerDashboardOptions"/>): when
    /// <c>Dashboard:Port</c> is set, the server also listens there (loopback only) and
    /// <c>app.MapJobWorkerEndpoints()</c> serves the dashboard on that port, read-only unless
    /// <c>Dashboard:AllowActions</c>. The address is logged at start.
    /// </summary>
    /// <exception cref="JobsConfigurationException">The <c>Dashboard</c> section holds an unknown key or a malformed value.</exception>
    public static IHostApplicationBuilder AddJobWorkerDashboard(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        var dashboard = new WorkerDashboardOptions();
        WorkerDashboardOptions.Section.Bind(builder.Configuration, dashboard);
        AddStrictOptions(services, builder.Configuration, WorkerDashboardOptions.Section);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<WorkerDashboardOptions>, WorkerDashboardOptionsValidator>());
        if (dashboard.Port is null)
        {
            return builder;
        }

        services.AddJobDashboard(o =>
        {
            o.Port = dashboard.Port;
            o.AllowActions = dashboard.AllowActions;
        });
        services.AddOptions<KestrelServerOptions>().Configure<IOptions<WorkerDashboardOptions>>((kestrel, options) =>
        {
            if (options.Value.Port is { } port and > 0 and <= 65535)
            {
                kestrel.Listen(options.Value.ListenAddress, port);
            }
        });
        services.AddHostedService<WorkerDashboardAnnouncement>();
        return builder;
    }

    /// <summary>
    /// One line per entry on the console, Job at Information, Orleans and Microsoft at Warning (the
    /// host's own start and stop lines at Information). These are defaults: the <c>Logging</c> section
    /// of the configuration overrides them. Other logging providers are removed; add yours after this.
    /// </summary>
    public static IHostApplicationBuilder AddJobWorkerLogging(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        // Lowest precedence: appsettings.json, environment variables and the command line win.
        builder.Configuration.Sources.Insert(0, new MemoryConfigurationSource
        {
            InitialData = new Dictionary<string, string?>
            {
                ["Logging:LogLevel:Default"] = "Information",
                ["Logging:LogLevel:Job"] = "Information",
                ["Logging:LogLevel:Orleans"] = "Warning",
                ["Logging:LogLevel:Microsoft"] = "Warning",
                ["Logging:LogLevel:Polly"] = "Warning",
                ["Logging:LogLevel:Microsoft.Hosting.Lifetime"] = "Information",
                // A failed start is reported by the entry point as one line (JobWorkerErrors), not as a trace.
                ["Logging:LogLevel:Microsoft.Extensions.Hosting.Internal.Host"] = "Critical",
                // Probes run every few seconds; JobsHealthCheck logs why it is not ready itself.
                ["Logging:LogLevel:Microsoft.Extensions.Diagnostics.HealthChecks"] = "Critical",
            },
        });
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss.fff ";
        });
        return builder;
    }

    /// <summary>
    /// The Orleans silo, configured from the <c>Orleans</c> section (<see cref="WorkerOrleansOptions"/>),
    /// running the job runtime configured from the <c>Jobs</c> section
    /// (<see cref="JobsSiloBuilderExtensions.AddJobs(ISiloBuilder, IConfiguration, Action{JobsOptions})"/>)
    /// with the connection string from <c>ConnectionStrings:Jobs</c> when <c>Jobs:ConnectionString</c>
    /// is unset. Before anything starts, the ports are probed and the database is asked once, so a
    /// port in use or an unreachable database ends the start with one line.
    /// </summary>
    /// <exception cref="JobsConfigurationException">The <c>Orleans</c> or <c>Jobs</c> section holds an unknown key or a malformed value.</exception>
    public static IHostApplicationBuilder AddJobWorkerSilo(this IHostApplicationBuilder builder, Action<JobsOptions>? configureJobs = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var configuration = builder.Configuration;
        var services = builder.Services;
        WorkerOrleansOptions.Section.Bind(configuration, new WorkerOrleansOptions());
        JobsConfigurationBinder.Bind(configuration.GetSection(JobsOptions.SectionName), new JobsOptions(), JobsConfigurationBinder.EmbeddingOnly);
        AddStrictOptions(services, configuration, WorkerOrleansOptions.Section);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<WorkerOrleansOptions>, WorkerOrleansOptionsValidator>());
        services.AddOptions<WorkerOrleansOptions>().PostConfigure<IOptions<JobsOptions>>((orleans, jobs) =>
            orleans.ResolveAdvertisedIP(jobs.Value.DataSource?.ConnectionString ?? jobs.Value.ConnectionString));
        services.TryAddSingleton<WorkerPorts>();

        // Registered before the silo and the web server: its checks run before either starts.
        services.AddHostedService<JobWorkerPreflight>();
        builder.UseOrleans(silo =>
        {
            silo.Services.AddOptions<ClusterOptions>().Configure<IOptions<WorkerOrleansOptions>>((cluster, orleans) =>
            {
                cluster.ClusterId = orleans.Value.ClusterId;
                cluster.ServiceId = orleans.Value.ServiceId;
            });
            silo.Services.AddOptions<EndpointOptions>().Configure<IOptions<WorkerOrleansOptions>, WorkerPorts>((endpoints, orleans, ports) =>
            {
                endpoints.AdvertisedIPAddress = orleans.Value.Address;
                endpoints.SiloPort = ports.SiloPort;
                endpoints.GatewayPort = ports.GatewayPort;
                endpoints.SiloListeningEndpoint = new(ports.ListenAddress, ports.SiloPort);
                endpoints.GatewayListeningEndpoint = new(ports.ListenAddress, ports.GatewayPort);
            });
            silo.AddJobs(configuration.GetSection(JobsOptions.SectionName), jobs =>
            {
                if (string.IsNullOrWhiteSpace(jobs.ConnectionString) && jobs.DataSource is null)
                {
                    jobs.ConnectionString = JobWorkerConfiguration.ConnectionString(configuration);
                }

                configureJobs?.Invoke(jobs);
            });
        });
        return builder;
    }

    /// <summary>
    /// Gives the host time to stop gracefully: its shutdown timeout becomes <c>Jobs:ShutdownTimeout</c>
    /// (how long running jobs get after SIGTERM) plus <see cref="ShutdownMargin"/>. An orchestrator's
    /// grace period (Kubernetes' terminationGracePeriodSeconds) should exceed that sum.
    /// </summary>
    public static IHostApplicationBuilder AddJobWorkerShutdown(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddOptions<HostOptions>().Configure<IOptions<JobsOptions>>((host, jobs) =>
            host.ShutdownTimeout = jobs.Value.ShutdownTimeout + ShutdownMargin);
        return builder;
    }

    /// <summary>
    /// Health checks (<see cref="JobsHealthCheck"/>: the silo is Active and the job database answers)
    /// and the HTTP listener for them, from the <c>Health</c> section (<see cref="WorkerHealthOptions"/>):
    /// port 8080 by default, on loopback when the silo advertises a loopback address. Serve them with
    /// <c>app.MapJobWorkerEndpoints()</c>.
    /// </summary>
    /// <exception cref="JobsConfigurationException">The <c>Health</c> section holds an unknown key or a malformed value.</exception>
    public static IHostApplicationBuilder AddJobWorkerHealth(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        WorkerHealthOptions.Section.Bind(builder.Configuration, new WorkerHealthOptions());
        AddStrictOptions(services, builder.Configuration, WorkerHealthOptions.Section);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<WorkerHealthOptions>, WorkerHealthOptionsValidator>());
        // The listen address follows the silo's advertised address, also when the silo is set up elsewhere.
        AddStrictOptions(services, builder.Configuration, WorkerOrleansOptions.Section);

        services.AddHealthChecks().AddJobs();
        services.AddOptions<KestrelServerOptions>().Configure<IOptions<WorkerHealthOptions>, IOptions<WorkerOrleansOptions>>((kestrel, health, orleans) =>
            kestrel.Listen(health.Value.ListenAddress(orleans.Value), health.Value.Port));
        return builder;
    }

    /// <summary>
    /// OpenTelemetry for the runtime's meter and activity source (<c>Job</c>): a Prometheus scrape
    /// endpoint (<c>Metrics:Prometheus</c>, on by default, served by <c>app.MapJobWorkerEndpoints()</c>)
    /// and OTLP export of metrics and traces (<c>Otlp:Endpoint</c>, off until set).
    /// </summary>
    /// <exception cref="JobsConfigurationException">The <c>Metrics</c> or <c>Otlp</c> section holds an unknown key or a malformed value.</exception>
    public static IHostApplicationBuilder AddJobWorkerMetrics(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        var metrics = new WorkerMetricsOptions();
        WorkerMetricsOptions.Section.Bind(builder.Configuration, metrics);
        var otlp = new WorkerOtlpOptions();
        WorkerOtlpOptions.Section.Bind(builder.Configuration, otlp);
        AddStrictOptions(services, builder.Configuration, WorkerMetricsOptions.Section);
        AddStrictOptions(services, builder.Configuration, WorkerOtlpOptions.Section);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<WorkerOtlpOptions>, WorkerOtlpOptionsValidator>());
        if (!metrics.Prometheus && otlp.Endpoint is null)
        {
            return builder;
        }

        var telemetry = services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(serviceName: builder.Environment.ApplicationName));
        telemetry.WithMetrics(meters =>
        {
            meters.AddMeter(JobTelemetry.SourceName);
            if (metrics.Prometheus)
            {
                meters.AddPrometheusExporter();
            }

            if (otlp.Endpoint is not null)
            {
                meters.AddOtlpExporter(exporter => ConfigureOtlp(exporter, otlp, "v1/metrics"));
            }
        });
        if (otlp.Endpoint is not null)
        {
            telemetry.WithTracing(traces => traces
                .AddSource(JobTelemetry.SourceName)
                .AddOtlpExporter(exporter => ConfigureOtlp(exporter, otlp, "v1/traces")));
        }

        return builder;
    }

    // Otlp:Endpoint is the collector's base address, for both signals, as OTEL_EXPORTER_OTLP_ENDPOINT is:
    // over http/protobuf each signal has a path of its own (/v1/metrics, /v1/traces), which the exporter
    // appends only to an endpoint it read from the environment, never to one set in code.
    internal static void ConfigureOtlp(OtlpExporterOptions exporter, WorkerOtlpOptions otlp, string signalPath)
    {
        if (otlp.Protocol == "http/protobuf")
        {
            exporter.Protocol = OtlpExportProtocol.HttpProtobuf;
            var address = new UriBuilder(otlp.Endpoint!);
            address.Path = address.Path.TrimEnd('/') + "/" + signalPath; // the query, if any, stays a query
            exporter.Endpoint = address.Uri;
        }
        else
        {
            exporter.Protocol = OtlpExportProtocol.Grpc;
            exporter.Endpoint = otlp.Endpoint!;
        }
    }

    /// <summary>Binds <typeparamref name="T"/> from its section once, however many extensions ask for it.</summary>
    private static void AddStrictOptions<T>(IServiceCollection services, IConfiguration configuration, StrictConfigurationSection<T> section)
        where T : class
    {
        if (services.Any(d => d.ServiceType == typeof(StrictConfigurationSection<T>)))
        {
            return;
        }

        services.AddSingleton(section);
        services.AddOptions<T>().Configure(options => section.Bind(configuration, options)).ValidateOnStart();
    }
}
