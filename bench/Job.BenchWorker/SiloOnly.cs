using Job.Hosting;
using Job.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace Job.BenchWorker;

/// <summary>
/// The worker without Job (<c>--silo-only true</c>): the same Orleans silo on the same database, with
/// the PostgreSQL providers <c>AddJobs</c> configures (ADO.NET clustering, default grain storage and
/// reminders) on the pool it gives them (Job's statement pool, each connection set to Job's schema,
/// where the Orleans tables live), and nothing of Job's: no runtime, job type, dispatcher, listener,
/// migrations check, cluster guard or membership turns. Its CPU at READY is what an Orleans worker on
/// this database pays to start before any of Job's work, the floor the <c>startfloor</c> workload
/// measures under a Job worker's start.
/// </summary>
internal static class SiloOnly
{
    public static void AddProviders(ISiloBuilder silo, string connectionString)
    {
        silo.Services.AddSingleton(_ => new Pools(connectionString)); // disposed with the host's container
        OrleansPostgresProviders.Add<Pools>(silo, clustering: true, pools => pools.Orleans);
    }

    /// <summary>Job's pools, built from the connection string as <c>AddJobs</c> builds them.</summary>
    private sealed class Pools : IAsyncDisposable
    {
        private readonly JobDataSources _sources;

        public Pools(string connectionString)
        {
            _sources = JobDataSources.For(null, connectionString);
            Orleans = new OrleansDataSource(_sources.Statements, JobSchema.Default);
        }

        public OrleansDataSource Orleans { get; }

        public ValueTask DisposeAsync() => _sources.DisposeAsync();
    }
}
