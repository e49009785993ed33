using Npgsql;

namespace Job;

/// <summary>
/// Where a plain Orleans client finds a Job cluster (<see cref="JobClusterClientBuilderExtensions.UseJobCluster(IClientBuilder, Action{JobClusterOptions})"/>):
/// Job's database, as a connection string or the application's data source (exactly one), and the
/// schema its workers keep their tables in.
/// </summary>
public sealed class JobClusterOptions
{
    /// <summary>The PostgreSQL connection string of Job's database. The client builds a small pool of its
    /// own from it and disposes that pool with the host.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>The application's data source on Job's database. Used as it is (its password included,
    /// which its <see cref="NpgsqlDataSource.ConnectionString"/> no longer shows); the application owns
    /// and disposes it.</summary>
    public NpgsqlDataSource? DataSource { get; set; }

    /// <summary>The schema of Job's tables and of the Orleans tables the workers created (their
    /// <c>JobsOptions.Schema</c>); <c>job</c> by default.</summary>
    public string Schema { get; set; } = JobSchema.Default.Name;
}
