using Job.Client;
using Job.Storage;

namespace Job;

/// <summary>
/// Cluster-wide flow control, changed at run time: pause and resume a job type, cap how many of its
/// jobs run at once or start per period, and let a serial queue run more than one job at a time. The
/// settings live in the database and are enforced where jobs are claimed, so restarts, rescues and a
/// killed silo never exceed them; every silo hears a change at once (a notification) and applies it
/// on its next claim. Each call is one transaction. Limits can also be declared in code
/// (<see cref="JobTypeLimits"/>): the latest change wins, and a restart with an unchanged
/// declaration leaves a change made here alone; <see cref="ResetAsync"/> goes back to the code's. Get it from <see cref="JobClient.FlowControl"/>,
/// from DI (<c>AddJobClient</c> and <c>AddJobs</c> register it), or from <c>Jobs.FlowControl</c>.
/// </summary>
public sealed class JobFlowControl
{
    /// <summary>The most a concurrency limit (of a type or a queue) can be.</summary>
    public const int MaxLimit = 1_000_000;

    private readonly JobContext _context;
    private readonly FlowControlStore _store;

    internal JobFlowControl(JobContext context)
    {
        _context = context;
        _store = new FlowControlStore(context.Database);
    }

    /// <summary>Stops every silo from claiming the type's jobs: they wait, due or not, until
    /// <see cref="ResumeAsync"/>. Runs already started finish. Survives restarts.</summary>
    /// <param name="jobType">The type.</param>
    /// <param name="changedBy">Who asks (an operator's name, a tool's), kept with the settings.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public Task<JobTypeSettings> PauseAsync(JobType jobType, string? changedBy = null, CancellationToken cancellationToken = default) =>
        SetAsync(jobType, new FlowControlStore.Change(Paused: true), changedBy, cancellationToken);

    /// <summary>Lets the silos claim the type's jobs again.</summary>
    public Task<JobTypeSettings> ResumeAsync(JobType jobType, string? changedBy = null, CancellationToken cancellationToken = default) =>
        SetAsync(jobType, new FlowControlStore.Change(Paused: false), changedBy, cancellationToken);

    /// <summary>At most <paramref name="maxRunning"/> jobs of the type run at once across the cluster
    /// (null removes the limit). Lowering it below what runs now stops no run: new ones wait until
    /// enough end.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A limit below 1 or above <see cref="MaxLimit"/>.</exception>
    public Task<JobTypeSettings> SetConcurrencyLimitAsync(JobType jobType, int? maxRunning, string? changedBy = null, CancellationToken cancellationToken = default)
    {
        CheckLimit(maxRunning, nameof(maxRunning));
        return SetAsync(jobType, new FlowControlStore.Change(SetMaxRunning: true, MaxRunning: maxRunning), changedBy, cancellationToken);
    }

    /// <summary>At most <see cref="JobRateLimit.Starts"/> jobs of the type start per
    /// <see cref="JobRateLimit.Period"/> across the cluster (null removes the limit). A new rate starts
    /// with a full bucket.</summary>
    public Task<JobTypeSettings> SetRateLimitAsync(JobType jobType, JobRateLimit? rateLimit, string? changedBy = null, CancellationToken cancellationToken = default) =>
        SetAsync(jobType, new FlowControlStore.Change(SetRate: true, Rate: rateLimit), changedBy, cancellationToken);

    /// <summary>Undoes run-time limit changes: the type's concurrency and rate limits become those its code
    /// declares again (<see cref="JobTypeLimits"/>; none when it declares none). A pause stays.</summary>
    public Task<JobTypeSettings> ResetAsync(JobType jobType, string? changedBy = null, CancellationToken cancellationToken = default)
    {
        if (changedBy is { Length: > 256 })
        {
            throw new ArgumentException("Who changed the settings is at most 256 characters.", nameof(changedBy));
        }

        return _store.ResetAsync(jobType, changedBy ?? "reset", cancellationToken);
    }

    /// <summary>The type's settings; a type nobody set anything for has none (null).</summary>
    public async Task<JobTypeSettings?> GetAsync(JobType jobType, CancellationToken cancellationToken = default)
    {
        var rows = await _store.ReadAsync(jobType, cancellationToken).ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0];
    }

    /// <summary>The settings of every type that has any, by name.</summary>
    public Task<IReadOnlyList<JobTypeSettings>> ListAsync(CancellationToken cancellationToken = default) =>
        _store.ReadAsync(null, cancellationToken);

    /// <summary>
    /// How many jobs of the serial queue <paramref name="queueId"/> may run at once (null: back to one,
    /// the default). A serial queue is the per-key limit: one queue per tenant, say, with a limit of 3
    /// runs each tenant's jobs three at a time, in due order. Applies at once to the queue's waiting jobs.
    /// </summary>
    /// <exception cref="ArgumentException">A queue id that is empty or longer than 256 characters.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A limit below 1 or above <see cref="MaxLimit"/>.</exception>
    public Task SetQueueLimitAsync(string queueId, int? maxRunning, CancellationToken cancellationToken = default)
    {
        CheckQueueId(queueId);
        CheckLimit(maxRunning, nameof(maxRunning));
        return _store.SetQueueLimitAsync(queueId, maxRunning, _context.Clock.Now, cancellationToken);
    }

    /// <summary>How many jobs of the serial queue may run at once (1 unless set).</summary>
    /// <exception cref="ArgumentException">A queue id that is empty or longer than 256 characters.</exception>
    public Task<int> GetQueueLimitAsync(string queueId, CancellationToken cancellationToken = default)
    {
        CheckQueueId(queueId);
        return _store.QueueLimitAsync(queueId, cancellationToken);
    }

    private Task<JobTypeSettings> SetAsync(JobType jobType, FlowControlStore.Change change, string? changedBy, CancellationToken ct)
    {
        CheckChangedBy(changedBy);
        return _store.SetAsync(jobType, change, changedBy, ct);
    }

    /// <summary>Pause or resume on the caller's connection, inside its transaction (JobAdmin records the operation in it).</summary>
    internal Task<JobTypeSettings> SetPausedAsync(Npgsql.NpgsqlConnection connection, Npgsql.NpgsqlTransaction tx, JobType jobType, bool paused, string? changedBy, CancellationToken ct)
    {
        CheckChangedBy(changedBy);
        return _store.SetAsync(connection, tx, jobType, new FlowControlStore.Change(Paused: paused), changedBy, ct);
    }

    private static void CheckChangedBy(string? changedBy)
    {
        if (changedBy is { Length: > 256 })
        {
            throw new ArgumentException("Who changed the settings is at most 256 characters.", nameof(changedBy));
        }
    }

    private static void CheckLimit(int? limit, string name)
    {
        if (limit is < 1 or > MaxLimit)
        {
            throw new ArgumentOutOfRangeException(name, limit, $"A concurrency limit is 1 to {MaxLimit:N0} (null: none).");
        }
    }

    private static void CheckQueueId(string queueId)
    {
        ArgumentNullException.ThrowIfNull(queueId);
        if (queueId.Length is 0 or > 256)
        {
            throw new ArgumentException($"A queue id must be 1 to 256 characters long (it is {queueId.Length}).", nameof(queueId));
        }
    }
}
