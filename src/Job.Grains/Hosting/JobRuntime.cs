using System.Text.Json;
using Job.Client;
using Job.Storage;
using Npgsql;

namespace Job.Hosting;

/// <summary>
/// What every part of the runtime in one silo shares: the database context (pool, schema, clock,
/// serializer), the silo's stores and the options. One per silo (a DI singleton).
/// </summary>
internal sealed class JobRuntime : IAsyncDisposable
{
    public JobRuntime(JobsOptions options)
    {
        options.Validate();
        Options = options;
        var dataSources = JobDataSources.For(options.DataSource, options.ConnectionString);
        Context = new JobContext(dataSources,
            new JobSchema(options.Schema), options.Clock, options.JsonSerializerOptions, options.MaxConfigBytes);
        Queue = new QueueStore(Context.Database);
        Maintenance = new MaintenanceStore(Context.Database);
        OrleansDataSource = new OrleansDataSource(Context.DataSource, Context.Schema);
    }

    /// <summary>The pool as the Orleans providers see it: search_path set to Job's schema.</summary>
    public OrleansDataSource OrleansDataSource { get; }

    public JobsOptions Options { get; }

    public JobContext Context { get; }

    /// <summary>The pool of Job's own statements.</summary>
    public NpgsqlDataSource DataSource => Context.DataSource;

    /// <summary>The pool of connections that hold session state: the listener's, the job code's.</summary>
    public NpgsqlDataSource SessionDataSource => Context.SessionDataSource;

    public JobDatabase Database => Context.Database;

    public QueueStore Queue { get; }

    public MaintenanceStore Maintenance { get; }

    public JobReadStore Reads => Context.Reads;

    public ClockHandle Clock => Context.Clock;

    public JsonSerializerOptions Json => Context.Json;

    public Job ToJob(StoredJob stored, IReadOnlyList<JobEvent> events) => Context.ToJob(stored, events);

    public ValueTask DisposeAsync() => Context.DisposeAsync();
}
