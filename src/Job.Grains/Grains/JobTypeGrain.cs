using Job.Hosting;
using Job.Storage;
using Job.Telemetry;

namespace Job.Grains;

/// <summary>
/// A job type for Orleans clients (key = the type name): spawns by type name with a JSON config, and
/// spawn-unique (a unique index decides, so concurrent callers anywhere create exactly one). It holds
/// nothing and is collected when idle like any grain; scheduling and maintenance are the cluster
/// leader's. An invalid type name is refused with <see cref="InvalidJobTypeException"/> on the call,
/// not at activation, so a client's bad input never shows up as a silo error. Its spawns are counted
/// (<c>job.spawned</c>) and traced (<c>job.spawn</c>) as the spawner's are.
/// </summary>
[GrainType("job-type")]
internal sealed class JobTypeGrain(JobRuntime runtime) : Grain, IJobTypeGrain
{
    public async Task<JobSnapshot> SpawnAsync(JobSpawnRequest request, CancellationToken cancellationToken)
    {
        var (type, row, now) = Prepare(request);
        using (JobTelemetry.StartSpawn(type.Name, 1, unique: false))
        {
            await runtime.Context.Spawns.InsertAsync(type, [row], unique: false, request.TraceParent, now, null, cancellationToken);
        }

        JobTelemetry.Spawned.Add(1, new KeyValuePair<string, object?>(JobTelemetry.TagJobType, type.Name));

        // A queued job's state is its queue's to decide (the head waits as scheduled or pending, the
        // jobs behind it are parked, reported pending), so it is read back rather than guessed.
        return row.QueueId is null ? Snapshot(type, row, now) : await runtime.Context.SnapshotAsync(row.Id, cancellationToken);
    }

    public async Task<bool> SpawnUniqueAsync(JobSpawnRequest request, CancellationToken cancellationToken)
    {
        var (type, row, now) = Prepare(request);
        bool created;
        using (JobTelemetry.StartSpawn(type.Name, 1, unique: true))
        {
            created = await runtime.Context.Spawns.InsertAsync(type, [row], unique: true, request.TraceParent, now, null, cancellationToken);
        }

        if (created)
        {
            JobTelemetry.Spawned.Add(1, new KeyValuePair<string, object?>(JobTelemetry.TagJobType, type.Name));
        }

        return created;
    }

    private (JobType Type, NewJob Row, DateTimeOffset Now) Prepare(JobSpawnRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var type = new JobType(this.GetPrimaryKeyString());
        var config = JobConfigJson.Validate(request.ConfigJson, runtime.Options.MaxConfigBytes, type.Name);
        if (request.QueueId is { Length: 0 or > 256 })
        {
            throw new ArgumentException($"A queue id must be 1 to 256 characters long (it is {request.QueueId.Length}).", nameof(request));
        }

        var now = runtime.Clock.Now;
        return (type, new NewJob(request.Id, config, request.ScheduleAt ?? now, request.QueueId, request.Priority), now);
    }

    private static JobSnapshot Snapshot(JobType type, NewJob row, DateTimeOffset now) => new()
    {
        Id = row.Id,
        JobType = type.Name,
        Status = row.ExecuteAt > now ? JobStatus.Scheduled : JobStatus.Pending,
        Attempt = 1,
        NextRunAt = row.ExecuteAt,
        ConfigJson = row.ConfigJson,
        QueueId = row.QueueId,
        CreatedAt = now,
    };
}
