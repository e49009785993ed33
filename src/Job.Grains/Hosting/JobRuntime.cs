using System.Text.Json;
using Job.Storage;
using Npgsql;

namespace Job.Hosting;

/// <summary>
/// What every part of the runtime in one silo shares: the database, the stores, the clock, the
/// serializer and the options. One per silo (a DI singleton).
/// </summary>
internal sealed class JobRuntime : IAsyncDisposable
{
    private readonly bool _ownsDataSource;

    public JobRuntime(JobsOptions options)
    {
        options.Validate();
        Options = options;
        _ownsDataSource = options.DataSource is null;
        DataSource = options.DataSource ?? CreateDataSource(options.ConnectionString!);
        Queue = new JobQueueStore(DataSource);
        Spawns = new JobSpawnStore(DataSource);
        Reads = new JobReadStore(DataSource);
        Retention = new JobRetentionStore(DataSource);
    }

    // The runtime's statements are few and run constantly; planning costs more than executing
    // most of them, so let Npgsql prepare them (unless the connection string says otherwise).
    private static NpgsqlDataSource CreateDataSource(string connectionString)
    {
        var builder = new NpgsqlDataSourceBuilder(connectionString);
        if (builder.ConnectionStringBuilder.MaxAutoPrepare == 0)
        {
            builder.ConnectionStringBuilder.MaxAutoPrepare = 32;
            builder.ConnectionStringBuilder.AutoPrepareMinUsages = 2;
        }

        return builder.Build();
    }

    public JobsOptions Options { get; }
    public NpgsqlDataSource DataSource { get; }
    public JobQueueStore Queue { get; }
    public JobSpawnStore Spawns { get; }
    public JobReadStore Reads { get; }
    public JobRetentionStore Retention { get; }
    public ClockHandle Clock => Options.Clock;
    public JsonSerializerOptions Json => Options.JsonSerializerOptions;

    public Job ToJob(StoredJob stored, IReadOnlyList<JobEvent> events) =>
        new(stored.Id, new JobType(stored.JobType), stored.ConfigJson, stored.TerminalState, events, Json);

    public async ValueTask DisposeAsync()
    {
        if (_ownsDataSource)
        {
            await DataSource.DisposeAsync().ConfigureAwait(false);
        }
    }
}
