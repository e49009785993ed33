using System.Diagnostics;
using System.Text.Json;

namespace Job;

/// <summary>
/// Typed spawns, status, await, cancel and history for any Orleans client or grain
/// (<see cref="IClusterClient"/> and <see cref="IGrainFactory"/>) of a Job cluster, over
/// <see cref="IJobTypeGrain"/> and <see cref="IJobGrain"/>: configs are serialized here with System.Text.Json
/// (part of .NET, so this package depends on nothing more), and no caller writes JSON by hand. The caller's
/// W3C trace context travels with the spawn, so the job's runs join the caller's trace. A client process
/// needs only this package and the Orleans client packages; <c>UseJobCluster</c> (package
/// Job.OrleansClient) connects it to the cluster through Job's database.
/// </summary>
public static class JobGrainFactoryExtensions
{
    /// <summary>The longest await one grain call makes (its response timeout is a day); longer awaits
    /// are made of several, so any <c>timeout</c> works.</summary>
    private static readonly TimeSpan s_awaitSlice = TimeSpan.FromHours(12);

    /// <summary>
    /// Spawns a job of <paramref name="jobType"/> with <paramref name="config"/> serialized as JSON: due now,
    /// or as <paramref name="options"/> say (a time, a serial queue, a priority, serializer options).
    /// The caller picks the id so a retried call cannot create a twin: a second spawn with it fails with
    /// <see cref="DuplicateJobIdException"/>. The workers that run the type must read the same config type.
    /// </summary>
    /// <returns>The job as created (pending, or scheduled when due later).</returns>
    /// <exception cref="DuplicateJobIdException">The id is taken; nothing was written.</exception>
    /// <exception cref="InvalidJobConfigException">The config serializes larger than the cluster's limit.</exception>
    /// <exception cref="InvalidOperationException"><paramref name="jobType"/> is <c>default</c> (it has no name).</exception>
    /// <exception cref="ArgumentException">The queue id is empty or longer than 256 characters.</exception>
    public static Task<JobSnapshot> SpawnJobAsync<TConfig>(this IGrainFactory grains, JobType jobType, JobId id, TConfig config,
        JobSpawnOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(grains);
        var type = grains.GetGrain<IJobTypeGrain>(jobType.Name);
        return type.SpawnAsync(Request(id, config, options), cancellationToken);
    }

    /// <summary>
    /// Creates the one job of <paramref name="jobType"/> unless a unique job of the type was ever created
    /// (the crate's <c>spawn_unique</c>): a unique index decides, so concurrent callers anywhere create
    /// exactly one.
    /// </summary>
    /// <returns>True when this call created the job; false when one already exists.</returns>
    /// <exception cref="DuplicateJobIdException">The id is taken by another job.</exception>
    /// <exception cref="InvalidJobConfigException">The config serializes larger than the cluster's limit.</exception>
    public static Task<bool> SpawnUniqueJobAsync<TConfig>(this IGrainFactory grains, JobType jobType, JobId id, TConfig config,
        JobSpawnOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(grains);
        var type = grains.GetGrain<IJobTypeGrain>(jobType.Name);
        return type.SpawnUniqueAsync(Request(id, config, options), cancellationToken);
    }

    /// <summary>The job's state now, read from the database (read its config with
    /// <see cref="JobSnapshot.Config{TConfig}(JsonSerializerOptions?)"/>).</summary>
    /// <exception cref="JobNotFoundException">No job has this id.</exception>
    public static Task<JobSnapshot> GetJobStatusAsync(this IGrainFactory grains, JobId id, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(grains);
        return Job(grains, id).GetSnapshotAsync(cancellationToken);
    }

    /// <summary>
    /// Waits until the job ends (completed, errored or cancelled) and returns how; the silo answers the
    /// moment the database announces the end. A job that already ended returns at once.
    /// </summary>
    /// <exception cref="JobAwaitTimeoutException">It did not end within <paramref name="timeout"/>; the job itself is unaffected.</exception>
    /// <exception cref="JobNotFoundException">No job has this id.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled; the silo stops waiting too.</exception>
    public static async Task<JobSnapshot> AwaitJobCompletionAsync(this IGrainFactory grains, JobId id, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(grains);
        ArgumentOutOfRangeException.ThrowIfLessThan(timeout, TimeSpan.Zero);
        var grain = Job(grains, id);
        var waited = Stopwatch.StartNew();
        while (true)
        {
            var remaining = timeout - waited.Elapsed;
            var slice = remaining > s_awaitSlice ? s_awaitSlice : remaining < TimeSpan.Zero ? TimeSpan.Zero : remaining;
            try
            {
                return await grain.AwaitCompletionAsync(slice, cancellationToken).ConfigureAwait(false);
            }
            catch (JobAwaitTimeoutException) when (slice < remaining)
            {
                // One slice of a longer wait ran out: wait on.
            }
        }
    }

    /// <summary>
    /// Cancels a job: one that waits (scheduled, pending, or parked in a serial queue) ends cancelled at
    /// once; a running one is asked to stop (its runner's token fires) and ends cancelled when the run
    /// returns. A finished job is left alone.
    /// </summary>
    /// <returns>True when the job ended cancelled or its cancel was requested; false when it had already finished.</returns>
    /// <exception cref="JobNotFoundException">No job has this id.</exception>
    public static Task<bool> CancelJobAsync(this IGrainFactory grains, JobId id, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(grains);
        return Job(grains, id).CancelAsync(cancellationToken);
    }

    /// <summary>The job's history, oldest first (see <see cref="JobEventTypes"/>).</summary>
    /// <exception cref="JobNotFoundException">No job has this id.</exception>
    public static Task<IReadOnlyList<JobEvent>> GetJobHistoryAsync(this IGrainFactory grains, JobId id, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(grains);
        return Job(grains, id).GetHistoryAsync(cancellationToken);
    }

    private static IJobGrain Job(IGrainFactory grains, JobId id) => grains.GetGrain<IJobGrain>(id.Value);

    private static JobSpawnRequest Request<TConfig>(JobId id, TConfig config, JobSpawnOptions? options)
    {
        if (options?.QueueId is { Length: 0 or > 256 } queueId)
        {
            throw new ArgumentException($"A queue id must be 1 to 256 characters long (it is {queueId.Length}).", nameof(options));
        }

        return new JobSpawnRequest
        {
            Id = id,
            ConfigJson = JsonSerializer.Serialize(config, options?.JsonSerializerOptions ?? JobSpawnOptions.DefaultJsonSerializerOptions),
            ScheduleAt = options?.ScheduleAt,
            QueueId = options?.QueueId,
            Priority = options?.Priority ?? 0,
            TraceParent = Activity.Current is { IdFormat: ActivityIdFormat.W3C } current ? current.Id : null,
        };
    }
}
