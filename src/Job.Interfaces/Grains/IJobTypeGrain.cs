namespace Job;

/// <summary>
/// The single activation for one job type in the cluster (keyed by the type name). Clients spawn
/// through it by type name with a JSON config; spawn-unique goes through it so one place decides.
/// <see cref="JobGrainFactoryExtensions"/> spawns through it with typed configs, so no caller builds the
/// JSON by hand. A spawn whose token is cancelled while it is in flight may still have committed: spawn
/// again with the same id, and <see cref="DuplicateJobIdException"/> tells that it did.
/// </summary>
public interface IJobTypeGrain : IGrainWithStringKey
{
    /// <summary>Creates a job of this type.</summary>
    /// <exception cref="DuplicateJobIdException">The id is taken.</exception>
    /// <exception cref="InvalidJobConfigException">The config is not valid JSON or too large.</exception>
    /// <exception cref="InvalidJobTypeException">The grain key is not a valid job type.</exception>
    Task<JobSnapshot> SpawnAsync(JobSpawnRequest request, CancellationToken cancellationToken = default);

    /// <summary>Creates the one job of this type unless one has ever been created (the crate's
    /// <c>spawn_unique</c>: permanent per type).</summary>
    /// <returns>True when this call created the job; false when a unique job of this type already exists.</returns>
    /// <exception cref="DuplicateJobIdException">The id is taken by another job.</exception>
    Task<bool> SpawnUniqueAsync(JobSpawnRequest request, CancellationToken cancellationToken = default);
}
