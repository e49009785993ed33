using Job.Execution;
using Job.Grains;
using Job.Hosting;
using Job.Scheduling;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Orleans.Configuration;
using Orleans.Runtime.Hosting;

namespace Job;

/// <summary>Plugs the job runtime into an Orleans silo.</summary>
public static class JobsSiloBuilderExtensions
{
    /// <summary>The Orleans ADO.NET invariant for PostgreSQL.</summary>
    public const string NpgsqlInvariant = "Npgsql";

    /// <summary>
    /// Adds the job runtime to this silo: the poller, the job and job-type grains, reminders on the
    /// job database (always: each job type keeps one reminder), and by default Orleans clustering and
    /// grain storage on the same database. Register job types with
    /// <see cref="JobsServiceCollectionExtensions.AddJobInitializer{TInitializer}(IServiceCollection)"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The options are invalid (for example no database).</exception>
    public static ISiloBuilder AddJobs(this ISiloBuilder builder, Action<JobsOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        var options = new JobsOptions();
        configure(options);
        options.Validate();

        // The Orleans providers share the runtime's data source: a data source of the application's
        // no longer shows its password in its connection string, so nothing may rebuild connections
        // from that string.
        builder.UseAdoNetReminderService(reminders => reminders.Configure<JobRuntime>((o, runtime) =>
        {
            o.Invariant = NpgsqlInvariant;
            o.DataSource = runtime.DataSource;
        }));
        if (options.UsePostgresClustering)
        {
            builder.UseAdoNetClustering(clustering => clustering.Configure<JobRuntime>((o, runtime) =>
            {
                o.Invariant = NpgsqlInvariant;
                o.DataSource = runtime.DataSource;
            }));
            builder.AddAdoNetGrainStorageAsDefault(storage => storage.Configure<JobRuntime>((o, runtime) =>
            {
                o.Invariant = NpgsqlInvariant;
                o.DataSource = runtime.DataSource;
            }));
        }

        if (options.MembershipProbeTimeout is { } probeTimeout)
        {
            builder.Configure<ClusterMembershipOptions>(o => o.ProbeTimeout = probeTimeout);
        }

        if (options.MembershipPauseTolerance is { } pauseTolerance)
        {
            // Orleans spares a silo whose open connection delivered a message within
            // MaxProbeTimeout × NumMissedProbesLimit, so this is what bounds a frozen silo's rescue.
            builder.Configure<ClusterMembershipOptions>(o =>
                o.MaxProbeTimeout = TimeSpan.FromTicks(Math.Max(o.ProbeTimeout.Ticks, pauseTolerance.Ticks / Math.Max(1, o.NumMissedProbesLimit))));
        }

        // Job grains live where they are called; their directory is this silo's own.
        builder.AddGrainDirectory(LocalRunDirectory.Name, (_, _) => new LocalRunDirectory());

        var services = builder.Services;
        services.AddSingleton(options);
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
        services.AddSingleton<JobShutdownSignal>();
        services.AddSingleton<JobWaiters>();
        services.AddSingleton<CompletionBatcher>();
        services.AddSingleton<JobExecutor>();
        services.AddSingleton<JobNotifications>();
        services.AddSingleton<JobNotificationListener>();
        services.AddSingleton<ClaimLedger>();
        services.AddSingleton<ClaimRunner>();
        services.AddSingleton<JobPoller>();
        services.AddSingleton<MembershipRescuer>();
        services.AddSingleton<JobSiloLifecycle>();
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<JobSiloLifecycle>());
        services.TryAddSingleton(TimeProvider.System);
        return builder;
    }
}
