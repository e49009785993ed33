using System.Text.Json;
using Job.Hosting;
using Job.Claims;
using Job.Storage;
using Npgsql;

namespace Job;

/// <summary>
/// The context of one run: which attempt it is, the checkpoint saved by earlier runs, the database,
/// the application clock and the shutdown signal. The checkpoint (execution state) survives
/// retries, reschedules and rescues, and is deleted when the job ends.
/// </summary>
public sealed class CurrentJob
{
    private readonly JobRuntime _runtime;
    private readonly ClaimedJob _claim;
    private string? _stateJson;

    internal CurrentJob(JobRuntime runtime, ClaimedJob claim, JobType jobType, CancellationToken shutdownRequested)
    {
        _runtime = runtime;
        _claim = claim;
        _stateJson = claim.ExecutionStateJson;
        ShutdownRequested = shutdownRequested;
        JobType = jobType;
    }

    /// <summary>The job's id.</summary>
    public JobId Id => _claim.Id;

    /// <summary>The job's type.</summary>
    public JobType JobType { get; }

    /// <summary>This run's attempt: 1 on the first run and after a reschedule; one more after each
    /// failed or lost run.</summary>
    public int Attempt => _claim.Attempt;

    /// <summary>The database the jobs live in, for the runner's own work (and its own transactions).
    /// Its connections are reset when they go back to the pool, so what the job's code sets for its
    /// session stays with it.</summary>
    public NpgsqlDataSource DataSource => _runtime.SessionDataSource;

    /// <summary>The application clock (artificial in tests).</summary>
    public ClockHandle Clock => _runtime.Clock;

    /// <summary>Signalled when this silo shuts down: finish or reschedule soon, or the job is handed
    /// to another silo after the shutdown timeout.</summary>
    public CancellationToken ShutdownRequested { get; }

    /// <summary>The checkpoint saved by this or an earlier run, or default when there is none.</summary>
    /// <exception cref="JsonException">The stored checkpoint does not fit <typeparamref name="T"/>.</exception>
    public T? ExecutionState<T>() => _stateJson is null ? default : JsonSerializer.Deserialize<T>(_stateJson, _runtime.Json);

    /// <summary>Saves a checkpoint that later runs of this job will see.</summary>
    /// <exception cref="StaleClaimException">This run's claim is no longer current (the job was
    /// handed to another silo); nothing was written.</exception>
    public Task UpdateExecutionStateAsync<T>(T state, CancellationToken cancellationToken = default) =>
        SaveStateAsync(null, state, cancellationToken);

    /// <summary>Saves a checkpoint inside the runner's transaction (committed with it).</summary>
    public Task UpdateExecutionStateAsync<T>(NpgsqlTransaction transaction, T state, CancellationToken cancellationToken = default) =>
        SaveStateAsync(transaction ?? throw new ArgumentNullException(nameof(transaction)), state, cancellationToken);

    private async Task SaveStateAsync<T>(NpgsqlTransaction? transaction, T state, CancellationToken ct)
    {
        var json = JsonSerializer.Serialize(state, _runtime.Json);
        if (!await _runtime.Queue.UpdateExecutionStateAsync(_claim, json, transaction, ct).ConfigureAwait(false))
        {
            throw new StaleClaimException(Id);
        }

        _stateJson = json;
    }
}

/// <summary>
/// A write from a run was refused because the run's claim is no longer current: the job was handed
/// to another silo (its silo was declared dead, or its heartbeat stopped). Nothing was written.
/// </summary>
public sealed class StaleClaimException : JobException
{
    /// <summary>Creates the error for the job whose claim went stale.</summary>
    public StaleClaimException(JobId id)
        : base($"The claim on job {id} is no longer current: the job was handed to another runner, so this run's write was refused.") => Id = id;

    /// <summary>The job.</summary>
    public JobId Id { get; }
}
