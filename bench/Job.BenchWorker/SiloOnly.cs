using Job.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Orleans.Configuration;

namespace Job.BenchWorker;

/// <summary>
/// The worker without Job (<c>--silo-only true</c>): the same Orleans silo on the same database, with
/// the PostgreSQL providers <c>AddJobs</c> configures (ADO.NET clustering, default grain storage and
/// reminders, on a pool whose connections use Job's schema, where the Orleans tables live), and no Job
/// runtime, job type or dispatcher. Its CPU at READY is what any Orleans worker on this database pays
/// to start, the floor under a Job worker's start (the <c>startfloor</c> workload).
/// </summary>
internal static class SiloOnly
{
    public static void AddProviders(ISiloBuilder silo, string connectionString)
    {
        var dataSource = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(connectionString) { SearchPath = "job" }.ConnectionString);
        silo.Services.AddSingleton(dataSource); // disposed with the host
        silo.UseAdoNetClustering(o =>
        {
            o.Invariant = JobsSiloBuilderExtensions.NpgsqlInvariant;
            o.DataSource = dataSource;
        });
        silo.AddAdoNetGrainStorageAsDefault(o =>
        {
            o.Invariant = JobsSiloBuilderExtensions.NpgsqlInvariant;
            o.DataSource = dataSource;
        });
        silo.UseAdoNetReminderService(o =>
        {
            o.Invariant = JobsSiloBuilderExtensions.NpgsqlInvariant;
            o.DataSource = dataSource;
        });
    }
}
