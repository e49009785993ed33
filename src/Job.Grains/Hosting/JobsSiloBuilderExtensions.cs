using Job.Claims;
using Job.Client;
using Job.Completion;
using Job.Dispatch;
using Job.Execution;
using Job.Hosting;
using Job.Maintenance;
using Job.Notifications;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Runtime.Hosting;

namespace Job;

/// <summary>Plugs the job runtime into an Orleans silo.</summary>
public static class JobsSiloBuilderExtensions
{
    /// <summary>The Orleans ADO.NET invariant for PostgreSQL.</summary>
    public const string NpgsqlInvariant = "Npgsql";

    /// <summary>The cluster and service id every Job entry point uses unless told otherwise (Orleans'
    /// own default is "default"): processes on one database must form one cluster.</summary>
    public const string DefaultClusterId = "job";

    /// <summary>
    /// Adds the job runtime to this silo: the poller, the job and job-type grains, reminders on the
    /// job database (always: each job type keeps one reminder), and by default Orleans clustering and
    /// grain storage on the same database. Register job types with
    /// <see cref="JobsServiceCollectionExtensions.AddJobInitializer{TInitializer}(IServiceCollection)"/>.
    /// The options are checked when the host starts (<see cref="JobsOptionsValidator"/>). Unless the
    /// host sets them, the Orleans cluster id and service id become <see cref="DefaultClusterId"/>, as
    /// for every other entry point (the facade, the silo host, the clients), so all processes on one
    /// database form one cluster.
    /// </summary>
    public static ISiloBuilder AddJobs(this ISiloBuilder builder, Action<JobsOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        return AddJobsCore(builder, configure);
    }

    /// <summary>
    /// As <see cref="AddJobs(ISiloBuilder, Action{JobsOptions})"/>, with the options bound from a
    /// configuration section (usually <c>configuration.GetSection("Jobs")</c>) by
    /// <see cref="JobsConfigurationBinder"/>: an unknown key or a duration without its unit is an
    /// error naming the key. <paramref name="configure"/> runs after the binding (for what
    /// configuration cannot hold: a data source, a clock, serializer options).
    /// </summary>
    /// <exception cref="JobsConfigurationException">The section holds an unknown key or a malformed value.</exception>
    public static ISiloBuilder AddJobs(this ISiloBuilder builder, IConfiguration section, Action<JobsOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(section);
        return AddJobsCore(builder, o =>
        {
            JobsConfigurationBinder.Bind(section, o);
            configure?.Invoke(o);
        });
    }

    private static ISiloBuilder AddJobsCore(ISiloBuilder builder, Action<JobsOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;

        // Which providers to register is decided now; the values themselves are read, and checked,
        // when the host starts.
        var declared = new JobsOptions();
        configure(declared);
        services.AddOptions<JobsOptions>().Configure(configure).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<JobsOptions>, JobsOptionsValidator>());
        services.PostConfigure<ClusterOptions>(o =>
        {
            var orleansDefaults = new ClusterOptions();
            if (o.ClusterId == orleansDefaults.ClusterId)
            {
                o.ClusterId = DefaultClusterId;
            }

            if (o.ServiceId == orleansDefaults.ServiceId)
            {
                o.ServiceId = DefaultClusterId;
            }
        });

        // The Orleans providers share the runtime's data source.
        OrleansPostgresProviders.Add<JobRuntime>(builder, declared.UsePostgresClustering, runtime => runtime.OrleansDataSource);
        if (declared.UsePostgresClustering)
        {
            // The cluster's silos write their membership status one at a time (see MembershipTurns).
            services.AddSingleton<MembershipTurns>();
            services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<MembershipTurns>());
        }

        services.AddOptions<ClusterMembershipOptions>().Configure<IOptions<JobsOptions>>((o, jobs) =>
        {
            if (jobs.Value.MembershipProbeTimeout is { } probeTimeout)
            {
                o.ProbeTimeout = probeTimeout;
            }

            if (jobs.Value.MembershipPauseTolerance is { } pauseTolerance)
            {
                // Orleans spares a silo whose open connection delivered a message within
                // MaxProbeTimeout × NumMissedProbesLimit, so this is what bounds a frozen silo's rescue.
                o.MaxProbeTimeout = TimeSpan.FromTicks(Math.Max(o.ProbeTimeout.Ticks, pauseTolerance.Ticks / Math.Max(1, o.NumMissedProbesLimit)));
            }
        });

        services.AddSingleton(sp => sp.GetRequiredService<IOptions<JobsOptions>>().Value);
        services.AddSingleton<JobRuntime>();
        services.AddSingleton(sp =>
        {
            var registry = new JobRegistry();
            foreach (var registration in sp.GetServices<JobInitializerRegistration>())
            {
                registration.Register(sp, registry);
            }

            return registry;
        });
        services.AddSingleton<JobSpawnerFactory>();
        services.AddSingleton<JobCompletionWaiters>();
        services.AddSingleton(sp => new JobClient(sp.GetRequiredService<JobRuntime>().Context, sp.GetRequiredService<JobCompletionWaiters>(), ownsContext: false,
            sp.GetRequiredService<ILoggerFactory>().CreateLogger<JobClient>()));
        services.AddSingleton(sp => sp.GetRequiredService<JobClient>().FlowControl);
        services.AddSingleton(sp => sp.GetRequiredService<JobClient>().Schedules);
        services.AddSingleton<JobDeclarations>();
        services.AddSingleton(sp => sp.GetRequiredService<JobClient>().Admin);

        // The stages a job passes through in a silo: dispatch → execution → completion, and the
        // per-silo maintenance around them; the cluster-wide maintenance runs in the leader grain.
        services.AddSingleton<ClaimLedger>();
        services.AddSingleton<JobProducer>();
        services.AddSingleton<JobShutdownSignal>();
        services.AddSingleton<JobExecutor>();
        services.AddSingleton<JobCompleter>();
        services.AddSingleton<JobNotifications>();
        services.AddSingleton<JobNotificationListener>();
        services.AddSingleton<ClaimHeartbeat>();
        services.AddSingleton<MembershipWatcher>();
        services.AddSingleton<ClusterGuard>();
        services.AddSingleton<QueueDepthGauge>();
        services.AddSingleton<JobSiloLifecycle>();
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<JobSiloLifecycle>());
        services.TryAddSingleton(TimeProvider.System);

        // Orleans' watchdog would otherwise report a false "deadlock" at start (see SiloStartTimeProvider).
        services.TryAddKeyedSingleton<TimeProvider>(TimeProviderNames.Membership,
            (sp, _) => new SiloStartTimeProvider(sp.GetRequiredService<TimeProvider>()));
        return builder;
    }
}
