using System.Data.Common;
using Orleans.Configuration;

namespace Job.Hosting;

/// <summary>
/// The Orleans ADO.NET providers on Job's database, in one place: reminders always, and membership and
/// default grain storage when the cluster lives in PostgreSQL. Each reads the pool it uses from a
/// service when its options are built, so nothing rebuilds connections from a connection string (an
/// application's data source no longer shows its password in it). <c>AddJobs</c> uses it, and so does
/// the bench worker's silo-only mode, whose start it is the floor of.
/// </summary>
internal static class OrleansPostgresProviders
{
    /// <param name="builder">The silo.</param>
    /// <param name="clustering">Also membership and default grain storage in PostgreSQL.</param>
    /// <param name="dataSource">The pool, read from the service <typeparamref name="TSource"/>.</param>
    public static void Add<TSource>(ISiloBuilder builder, bool clustering, Func<TSource, DbDataSource> dataSource)
        where TSource : class
    {
        builder.UseAdoNetReminderService(reminders => reminders.Configure<TSource>((o, source) =>
        {
            o.Invariant = JobsSiloBuilderExtensions.NpgsqlInvariant;
            o.DataSource = dataSource(source);
        }));
        if (!clustering)
        {
            return;
        }

        builder.UseAdoNetClustering(membership => membership.Configure<TSource>((o, source) =>
        {
            o.Invariant = JobsSiloBuilderExtensions.NpgsqlInvariant;
            o.DataSource = dataSource(source);
        }));
        builder.AddAdoNetGrainStorageAsDefault(storage => storage.Configure<TSource>((o, source) =>
        {
            o.Invariant = JobsSiloBuilderExtensions.NpgsqlInvariant;
            o.DataSource = dataSource(source);
        }));
    }
}
