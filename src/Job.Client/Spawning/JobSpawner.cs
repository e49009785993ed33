using System.Text.Json;
using Job.Client;
using Job.Storage;
using Job.Telemetry;
using Npgsql;

namespace Job;

/// <summary>
/// Creates jobs of one type, type-safely. Spawns go straight to the database (one round trip per
/// batch), on a pooled connection or inside the caller's transaction, so a job commits or rolls back
/// with the business write that called for it. A committed spawn wakes the workers at once (NOTIFY).
/// Get one from <see cref="JobClient.Spawner{TConfig}(JobType)"/>, from the facade's
/// <c>AddInitializer</c>, or by injection after <c>AddJobInitializer</c>; it is cheap and thread-safe.
/// </summary>
/// <typeparam name="TConfig">The job type's config, stored as JSON.</typeparam>
public sealed class JobSpawner<TConfig>
{
    private readonly JobContext _context;

    internal JobSpawner(JobType jobType, JobContext context)
    {
        JobType = jobType;
        _context = context;
    }

    /// <summary>The type this spawner creates.</summary>
    public JobType JobType { get; }

    /// <summary>Spawns a job due now.</summary>
    /// <exception cref="DuplicateJobIdException">The id is taken; nothing was written.</exception>
    /// <exception cref="InvalidJobConfigException">The config serializes larger than the limit.</exception>
    public Task<Job> SpawnAsync(JobId id, TConfig config, CancellationToken cancellationToken = default) =>
        SpawnOneAsync(null, new JobSpec<TConfig>(id, config), cancellationToken);

    /// <summary>Spawns a job due now inside <paramref name="transaction"/>: it exists only if that commits.</summary>
    public Task<Job> SpawnAsync(NpgsqlTransaction transaction, JobId id, TConfig config, CancellationToken cancellationToken = default) =>
        SpawnOneAsync(Required(transaction), new JobSpec<TConfig>(id, config), cancellationToken);

    /// <summary>Spawns one job with every option of <see cref="JobSpec{TConfig}"/>: due time, serial queue
    /// and <see cref="JobSpec{TConfig}.Priority"/> (higher runs first among the type's due jobs; one claim
    /// slot in ten still goes to the longest-waiting job, so a low priority waits longer, never forever).</summary>
    /// <exception cref="DuplicateJobIdException">The id is taken; nothing was written.</exception>
    /// <exception cref="InvalidJobConfigException">The config serializes larger than the limit.</exception>
    public Task<Job> SpawnAsync(JobSpec<TConfig> spec, CancellationToken cancellationToken = default) =>
        SpawnOneAsync(null, spec ?? throw new ArgumentNullException(nameof(spec)), cancellationToken);

    /// <summary>As <see cref="SpawnAsync(JobSpec{TConfig}, CancellationToken)"/>, inside <paramref name="transaction"/>.</summary>
    public Task<Job> SpawnAsync(NpgsqlTransaction transaction, JobSpec<TConfig> spec, CancellationToken cancellationToken = default) =>
        SpawnOneAsync(Required(transaction), spec ?? throw new ArgumentNullException(nameof(spec)), cancellationToken);

    /// <summary>Spawns a job due at <paramref name="scheduleAt"/> (application clock; a past time means now).</summary>
    public Task<Job> SpawnAtAsync(JobId id, TConfig config, DateTimeOffset scheduleAt, CancellationToken cancellationToken = default) =>
        SpawnOneAsync(null, new JobSpec<TConfig>(id, config) { ScheduleAt = scheduleAt }, cancellationToken);

    /// <summary>Spawns a job due at <paramref name="scheduleAt"/> inside <paramref name="transaction"/>.</summary>
    public Task<Job> SpawnAtAsync(NpgsqlTransaction transaction, JobId id, TConfig config, DateTimeOffset scheduleAt, CancellationToken cancellationToken = default) =>
        SpawnOneAsync(Required(transaction), new JobSpec<TConfig>(id, config) { ScheduleAt = scheduleAt }, cancellationToken);

    /// <summary>Spawns a job into a serial queue: across the cluster at most one job per queue id runs
    /// at a time (or as many as the queue's limit allows), in due order (the database enforces it).</summary>
    public Task<Job> SpawnWithQueueIdAsync(JobId id, TConfig config, string queueId, CancellationToken cancellationToken = default) =>
        SpawnOneAsync(null, new JobSpec<TConfig>(id, config) { QueueId = queueId }, cancellationToken);

    /// <summary>Spawns a job into a serial queue inside <paramref name="transaction"/>.</summary>
    public Task<Job> SpawnWithQueueIdAsync(NpgsqlTransaction transaction, JobId id, TConfig config, string queueId, CancellationToken cancellationToken = default) =>
        SpawnOneAsync(Required(transaction), new JobSpec<TConfig>(id, config) { QueueId = queueId }, cancellationToken);

    /// <summary>Spawns many jobs in one round trip, all or nothing. An empty input returns an empty
    /// list without touching the database.</summary>
    /// <exception cref="DuplicateJobIdException">An id repeats in the input or is taken; nothing was written.</exception>
    public Task<IReadOnlyList<Job>> SpawnAllAsync(IEnumerable<JobSpec<TConfig>> specs, CancellationToken cancellationToken = default) =>
        SpawnManyAsync(null, specs, cancellationToken);

    /// <summary>As <see cref="SpawnAllAsync(IEnumerable{JobSpec{TConfig}}, CancellationToken)"/>, inside <paramref name="transaction"/>.</summary>
    public Task<IReadOnlyList<Job>> SpawnAllAsync(NpgsqlTransaction transaction, IEnumerable<JobSpec<TConfig>> specs, CancellationToken cancellationToken = default) =>
        SpawnManyAsync(Required(transaction), specs, cancellationToken);

    /// <summary>
    /// Creates the one job of this type unless a unique job of the type was ever created (the crate's
    /// <c>spawn_unique</c>; a pruned one no longer counts). A unique index decides, so concurrent
    /// callers anywhere create exactly one. Unlike the crate, the spawner stays usable: the guarantee
    /// is the database's, not the handle's.
    /// </summary>
    /// <returns>True when this call created the job; false when one already exists.</returns>
    /// <exception cref="DuplicateJobIdException">The id is taken by another job.</exception>
    public Task<bool> SpawnUniqueAsync(JobId id, TConfig config, CancellationToken cancellationToken = default) =>
        SpawnUniqueCoreAsync(null, id, config, cancellationToken);

    /// <summary>As <see cref="SpawnUniqueAsync(JobId, TConfig, CancellationToken)"/>, inside <paramref name="transaction"/>.</summary>
    public Task<bool> SpawnUniqueAsync(NpgsqlTransaction transaction, JobId id, TConfig config, CancellationToken cancellationToken = default) =>
        SpawnUniqueCoreAsync(Required(transaction), id, config, cancellationToken);

    /// <summary>As <see cref="SpawnUniqueAsync(JobId, TConfig, CancellationToken)"/>, with every option of
    /// <see cref="JobSpec{TConfig}"/> (due time, serial queue, priority).</summary>
    /// <returns>True when this call created the job; false when one already exists.</returns>
    public Task<bool> SpawnUniqueAsync(JobSpec<TConfig> spec, CancellationToken cancellationToken = default) =>
        SpawnUniqueCoreAsync(null, spec ?? throw new ArgumentNullException(nameof(spec)), cancellationToken);

    /// <summary>As <see cref="SpawnUniqueAsync(JobSpec{TConfig}, CancellationToken)"/>, inside <paramref name="transaction"/>.</summary>
    public Task<bool> SpawnUniqueAsync(NpgsqlTransaction transaction, JobSpec<TConfig> spec, CancellationToken cancellationToken = default) =>
        SpawnUniqueCoreAsync(Required(transaction), spec ?? throw new ArgumentNullException(nameof(spec)), cancellationToken);

    private Task<bool> SpawnUniqueCoreAsync(NpgsqlTransaction? transaction, JobId id, TConfig config, CancellationToken ct) =>
        SpawnUniqueCoreAsync(transaction, new JobSpec<TConfig>(id, config), ct);

    private async Task<bool> SpawnUniqueCoreAsync(NpgsqlTransaction? transaction, JobSpec<TConfig> spec, CancellationToken ct)
    {
        var now = _context.Clock.Now;
        using var activity = JobTelemetry.StartSpawn(JobType.Name, 1, unique: true);
        var row = new NewJob(spec.Id, Serialize(spec.Config), spec.ScheduleAt ?? now, ValidQueueId(spec.QueueId), spec.Priority);
        var created = await _context.Spawns.InsertAsync(JobType, [row], unique: true,
            JobTelemetry.CurrentTraceParent(), now, transaction, ct).ConfigureAwait(false);
        if (created)
        {
            JobTelemetry.Spawned.Add(1, new KeyValuePair<string, object?>(JobTelemetry.TagJobType, JobType.Name));
        }

        return created;
    }

    private async Task<Job> SpawnOneAsync(NpgsqlTransaction? transaction, JobSpec<TConfig> spec, CancellationToken ct)
    {
        var jobs = await SpawnManyAsync(transaction, [spec], ct).ConfigureAwait(false);
        return jobs[0];
    }

    private async Task<IReadOnlyList<Job>> SpawnManyAsync(NpgsqlTransaction? transaction, IEnumerable<JobSpec<TConfig>> specs, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(specs);
        var list = specs as IReadOnlyList<JobSpec<TConfig>> ?? specs.ToList();
        if (list.Count == 0)
        {
            return [];
        }

        var now = _context.Clock.Now;
        var rows = new NewJob[list.Count];
        for (var i = 0; i < list.Count; i++)
        {
            var spec = list[i] ?? throw new ArgumentException("A JobSpec in the batch is null.", nameof(specs));
            rows[i] = new NewJob(spec.Id, Serialize(spec.Config), spec.ScheduleAt ?? now, ValidQueueId(spec.QueueId), spec.Priority);
        }

        using var activity = JobTelemetry.StartSpawn(JobType.Name, rows.Length, unique: false);
        await _context.Spawns.InsertAsync(JobType, rows, unique: false, JobTelemetry.CurrentTraceParent(), now, transaction, ct).ConfigureAwait(false);
        JobTelemetry.Spawned.Add(rows.Length, new KeyValuePair<string, object?>(JobTelemetry.TagJobType, JobType.Name));
        return Array.ConvertAll(rows, r => new Job(r.Id, JobType, r.ConfigJson, null, [], _context.Json));
    }

    internal string Serialize(TConfig config) => JobConfigJson.Serialize(config, _context.Json, _context.MaxConfigBytes, JobType);

    private static string? ValidQueueId(string? queueId) =>
        queueId is null || (queueId.Length is > 0 and <= 256)
            ? queueId
            : throw new ArgumentException($"A queue id must be 1 to 256 characters long (it is {queueId.Length}).", nameof(queueId));

    private static NpgsqlTransaction Required(NpgsqlTransaction transaction) =>
        transaction ?? throw new ArgumentNullException(nameof(transaction));
}

/// <summary>Serializes configs with the size limit applied in one place.</summary>
internal static class JobConfigJson
{
    public static string Serialize<T>(T config, JsonSerializerOptions json, int maxBytes, JobType jobType)
    {
        var bytes = JsonSerializer.SerializeToUtf8Bytes(config, json);
        if (bytes.Length > maxBytes)
        {
            throw new InvalidJobConfigException($"The config of a '{jobType}' job is {bytes.Length} bytes, more than the limit of {maxBytes} (JobsOptions.MaxConfigBytes).");
        }

        return System.Text.Encoding.UTF8.GetString(bytes);
    }

    /// <summary>Checks text from a client: well-formed JSON and within the limit.</summary>
    public static string Validate(string? configJson, int maxBytes, string jobType)
    {
        if (configJson is null)
        {
            throw new InvalidJobConfigException($"The config of a '{jobType}' job is missing; send JSON text (\"null\" for none).");
        }

        var size = System.Text.Encoding.UTF8.GetByteCount(configJson);
        if (size > maxBytes)
        {
            throw new InvalidJobConfigException($"The config of a '{jobType}' job is {size} bytes, more than the limit of {maxBytes} (JobsOptions.MaxConfigBytes).");
        }

        try
        {
            using var _ = JsonDocument.Parse(configJson);
        }
        catch (JsonException ex)
        {
            throw new InvalidJobConfigException($"The config of a '{jobType}' job is not valid JSON: {ex.Message}", ex);
        }

        return configJson;
    }
}
