using Job.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Orleans.Configuration;

namespace Job;

/// <summary>
/// Connects a plain Orleans client (<c>UseOrleansClient</c>) to a Job cluster. Job's workers keep the
/// Orleans membership table in Job's schema, and Orleans' ADO.NET provider names its tables unqualified,
/// so a client configured with <c>UseAdoNetClustering</c> alone finds no gateways unless its connection
/// string says <c>Search Path=job</c>. These extensions do what the workers do instead: every
/// connection's search_path is set to the schema when it is opened, on a pool that keeps the password
/// (nothing is rebuilt from a data source's connection string, which no longer shows it), and the
/// cluster and service id become Job's (<see cref="DefaultClusterId"/>) unless the client sets them.
/// Spawn and follow jobs with <see cref="JobGrainFactoryExtensions"/>.
/// </summary>
public static class JobClusterClientBuilderExtensions
{
    /// <summary>The cluster and service id of every Job entry point unless told otherwise (Orleans' own
    /// default is "default"); equal to the workers' <c>JobsSiloBuilderExtensions.DefaultClusterId</c>.</summary>
    public const string DefaultClusterId = "job";

    private const string NpgsqlInvariant = "Npgsql";

    /// <summary>Finds the cluster through Job's database at <paramref name="connectionString"/>, with a
    /// pool of the client's own (disposed with the host).</summary>
    /// <param name="builder">The Orleans client builder.</param>
    /// <param name="connectionString">Job's database; its password stays in the pool.</param>
    /// <param name="schema">The workers' <c>JobsOptions.Schema</c>.</param>
    /// <exception cref="ArgumentException">The connection string is empty or malformed, or the schema is not a valid name.</exception>
    public static IClientBuilder UseJobCluster(this IClientBuilder builder, string connectionString, string schema = "job") =>
        UseJobCluster(builder, o =>
        {
            o.ConnectionString = connectionString;
            o.Schema = schema;
        });

    /// <summary>Finds the cluster through the application's <paramref name="dataSource"/> on Job's database
    /// (it stays the application's to dispose).</summary>
    /// <param name="builder">The Orleans client builder.</param>
    /// <param name="dataSource">A data source on Job's database.</param>
    /// <param name="schema">The workers' <c>JobsOptions.Schema</c>.</param>
    /// <exception cref="ArgumentException">The schema is not a valid name.</exception>
    public static IClientBuilder UseJobCluster(this IClientBuilder builder, NpgsqlDataSource dataSource, string schema = "job")
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        return UseJobCluster(builder, o =>
        {
            o.DataSource = dataSource;
            o.Schema = schema;
        });
    }

    /// <summary>Finds the cluster as <paramref name="configure"/> says. The options are checked here, when
    /// the client is configured, so a mistake fails at once with its reason rather than as a client that
    /// never finds a gateway.</summary>
    /// <exception cref="ArgumentException">Neither or both of a connection string and a data source, a
    /// malformed connection string, or a schema that is not a valid name.</exception>
    public static IClientBuilder UseJobCluster(this IClientBuilder builder, Action<JobClusterOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        var options = new JobClusterOptions();
        configure(options);
        var (dataSource, schema) = Check(options);

        // Built when first resolved, so the container that created it disposes it.
        builder.Services.AddSingleton(_ => dataSource is not null
            ? new JobClusterDataSource(dataSource, ownsDataSource: false, schema)
            : new JobClusterDataSource(NpgsqlDataSource.Create(options.ConnectionString!), ownsDataSource: true, schema));
        builder.UseAdoNetClustering(clustering => clustering.Configure<JobClusterDataSource>((o, source) =>
        {
            o.Invariant = NpgsqlInvariant;
            o.DataSource = source.Orleans;
        }));
        builder.Services.PostConfigure<ClusterOptions>(o =>
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
        return builder;
    }

    private static (NpgsqlDataSource? DataSource, JobSchema Schema) Check(JobClusterOptions options)
    {
        var hasConnectionString = !string.IsNullOrWhiteSpace(options.ConnectionString);
        if (hasConnectionString == options.DataSource is not null)
        {
            throw new ArgumentException(hasConnectionString
                ? "UseJobCluster takes a connection string or a data source, not both: set JobClusterOptions.ConnectionString or JobClusterOptions.DataSource."
                : "UseJobCluster needs Job's database: set JobClusterOptions.ConnectionString or JobClusterOptions.DataSource.", nameof(options));
        }

        if (!JobSchema.IsValid(options.Schema))
        {
            throw new ArgumentException(
                $"\"{options.Schema}\" is not a valid schema for Job (JobClusterOptions.Schema): use the workers' JobsOptions.Schema, 1 to 63 lowercase letters, digits and underscores (\"job\" by default).",
                nameof(options));
        }

        if (hasConnectionString)
        {
            try
            {
                _ = new NpgsqlConnectionStringBuilder(options.ConnectionString);
            }
            catch (ArgumentException ex)
            {
                // Npgsql's message names the offending keyword, never the connection string's values.
                throw new ArgumentException($"JobClusterOptions.ConnectionString is not a valid PostgreSQL connection string: {ex.Message}", nameof(options), ex);
            }
        }

        return (options.DataSource, new JobSchema(options.Schema));
    }
}
