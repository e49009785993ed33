using System.Text.Json;
using Job.Storage;
using Npgsql;

namespace Job.Client;

/// <summary>
/// What every part that talks to Job's database shares, in a client and in a silo alike: the
/// database and its schema, the stores, the application clock, the serializer and the config size
/// limit. One per process and data source.
/// </summary>
internal sealed class JobContext : IAsyncDisposable
{
    private readonly JobDataSources _dataSources;

    public JobContext(JobDataSources dataSources, JobSchema schema, ClockHandle clock, JsonSerializerOptions json, int maxConfigBytes)
    {
        _dataSources = dataSources;
        Database = new JobDatabase(dataSources.Statements, schema);
        Spawns = new JobSpawnStore(Database);
        Reads = new JobReadStore(Database);
        Control = new JobControlStore(Database);
        Clock = clock;
        Json = json;
        MaxConfigBytes = maxConfigBytes;
    }

    public JobDatabase Database { get; }

    /// <summary>The pool of Job's own statements (see <see cref="JobDataSources"/>).</summary>
    public NpgsqlDataSource DataSource => Database.DataSource;

    /// <summary>The pool of connections that hold session state (LISTEN, job code).</summary>
    public NpgsqlDataSource SessionDataSource => _dataSources.Sessions;

    public JobSchema Schema => Database.Schema;

    public JobSpawnStore Spawns { get; }

    public JobReadStore Reads { get; }

    public JobControlStore Control { get; }

    public ClockHandle Clock { get; }

    public JsonSerializerOptions Json { get; }

    public int MaxConfigBytes { get; }

    public Job ToJob(StoredJob stored, IReadOnlyList<JobEvent> events) =>
        new(stored.Id, new JobType(stored.JobType), stored.ConfigJson, stored.TerminalState, events, Json);

    /// <summary>Reads a job with its history.</summary>
    /// <exception cref="JobNotFoundException">No job has this id.</exception>
    public async Task<Job> FindAsync(JobId id, CancellationToken ct)
    {
        var stored = await Reads.FindAsync(id, ct).ConfigureAwait(false) ?? throw new JobNotFoundException(id);
        return ToJob(stored, await Reads.EventsAsync(id, ct).ConfigureAwait(false));
    }

    /// <summary>The job's status now.</summary>
    /// <exception cref="JobNotFoundException">No job has this id.</exception>
    public async Task<JobSnapshot> SnapshotAsync(JobId id, CancellationToken ct) =>
        (await Reads.FindAsync(id, ct).ConfigureAwait(false) ?? throw new JobNotFoundException(id)).ToSnapshot();

    public ValueTask DisposeAsync() => _dataSources.DisposeAsync();
}
