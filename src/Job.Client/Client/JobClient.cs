using Job.Client;
using Job.Common;
using Job.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Job;

/// <summary>
/// Job from an application that does not run jobs itself (a web application, a console tool):
/// typed spawns, inside the application's own transactions if it likes, and a job's status,
/// history, await and cancel, all over the database: no silo, no Orleans. Workers (silos) pick the
/// jobs up through the database's notifications. Register it with
/// <c>services.AddJobClient(o => o.ConnectionString = …)</c> and inject it, or create one with
/// <see cref="Create"/>; in a silo (<c>AddJobs</c>) it is injectable too, sharing the silo's pool.
/// Thread-safe; one per process is enough.
/// </summary>
public sealed class JobClient : IAsyncDisposable
{
    private readonly JobContext _context;
    private readonly JobAwaiter _awaiter;
    private readonly JobCompletionWaiters _waiters;
    private readonly bool _ownsContext;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private CancellationTokenSource? _listening;
    private Task _listener = Task.CompletedTask;

    internal JobClient(JobContext context, JobCompletionWaiters waiters, bool ownsContext, ILogger logger)
    {
        _context = context;
        _waiters = waiters;
        _ownsContext = ownsContext;
        _logger = logger;
        _awaiter = new JobAwaiter(context, waiters);
        FlowControl = new JobFlowControl(context);
        Schedules = new JobSchedules(context);
        Admin = new JobAdmin(context, FlowControl);
    }

    /// <summary>Creates a client of its own (with its own pool unless given the application's data source).</summary>
    /// <exception cref="OptionsValidationException">The options are invalid; every problem is named.</exception>
    public static JobClient Create(JobClientOptions options, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var result = new JobClientOptionsValidator().Validate(null, options);
        if (result.Failed)
        {
            throw new OptionsValidationException(nameof(JobClientOptions), typeof(JobClientOptions), result.Failures);
        }

        var dataSources = JobDataSources.For(options.DataSource, options.ConnectionString);
        var context = new JobContext(dataSources,
            new JobSchema(options.Schema), options.Clock, options.JsonSerializerOptions, options.MaxConfigBytes);
        return new JobClient(context, new JobCompletionWaiters(), ownsContext: true,
            (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<JobClient>());
    }

    /// <summary>The application clock spawns read.</summary>
    public ClockHandle Clock => _context.Clock;

    /// <summary>The schema of Job's tables.</summary>
    public JobSchema Schema => _context.Schema;

    /// <summary>Cluster-wide flow control: pause and resume types, concurrency and rate limits, serial queue limits.</summary>
    public JobFlowControl FlowControl { get; }

    /// <summary>Recurring schedules: create, change, pause, resume, remove them at run time; see their ticks.</summary>
    public JobSchedules Schedules { get; }

    /// <summary>What an operator does: list, inspect, count, retry, cancel, delete (one by one or for a
    /// filter), pause and resume; each operation one transaction, recorded with who did it.</summary>
    public JobAdmin Admin { get; }

    /// <summary>A spawner for jobs of <paramref name="jobType"/> with configs of <typeparamref name="TConfig"/>
    /// (cheap: make one per call or keep one). The workers that run the type must read the same config type.</summary>
    public JobSpawner<TConfig> Spawner<TConfig>(JobType jobType) => new(jobType, _context);

    /// <summary>Reads a job with its history.</summary>
    /// <exception cref="JobNotFoundException">No job has this id.</exception>
    public Task<Job> FindAsync(JobId id, CancellationToken cancellationToken = default) => _context.FindAsync(id, cancellationToken);

    /// <summary>The job's status now.</summary>
    /// <exception cref="JobNotFoundException">No job has this id.</exception>
    public Task<JobSnapshot> GetStatusAsync(JobId id, CancellationToken cancellationToken = default) => _context.SnapshotAsync(id, cancellationToken);

    /// <summary>Waits until the job ends, and returns how (woken by the database the moment it does).</summary>
    /// <exception cref="JobAwaitTimeoutException">It did not end within <paramref name="timeout"/>.</exception>
    /// <exception cref="JobNotFoundException">No job has this id.</exception>
    public Task<JobSnapshot> AwaitCompletionAsync(JobId id, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        EnsureListening();
        return _awaiter.AwaitAsync(id, timeout, cancellationToken);
    }

    /// <summary>
    /// Cancels a job: one that waits (scheduled, pending, or parked in a serial queue) ends cancelled
    /// at once; a running one is asked to stop: its runner's token fires, and it ends cancelled when
    /// the run returns (a run that ignores the token is cut off after the silo's shutdown timeout:
    /// the job ends cancelled and the late run's writes are refused).
    /// </summary>
    /// <returns>True when the job ended cancelled or its cancel was requested; false when it had already finished.</returns>
    /// <exception cref="JobNotFoundException">No job has this id.</exception>
    public async Task<bool> CancelAsync(JobId id, CancellationToken cancellationToken = default)
    {
        var result = await _context.Control.CancelAsync(id, "cancelled by a client", _context.Clock.Now, cancellationToken).ConfigureAwait(false);
        if (result == JobControlStore.CancelResult.NotLive)
        {
            _ = await _context.SnapshotAsync(id, cancellationToken).ConfigureAwait(false); // an unknown id is an error, not a quiet false
            return false;
        }

        return true;
    }

    /// <summary>Applies missing migrations to the schema (workers do this at start by default).</summary>
    public Task<IReadOnlyList<string>> MigrateAsync(CancellationToken cancellationToken = default) =>
        JobMigrations.RunAsync(_context.DataSource, _context.Schema, cancellationToken);

    internal JobContext Context => _context;

    // A client of its own listens for the end of awaited jobs on one connection, from the first await on.
    private void EnsureListening()
    {
        if (!_ownsContext || _listening is not null)
        {
            return;
        }

        lock (_gate)
        {
            if (_listening is not null)
            {
                return;
            }

            _listening = new CancellationTokenSource();
            var listener = new PostgresListener(_context.SessionDataSource, [JobChannels.Terminal], (_, payload) => _waiters.Notify(payload), _waiters.NotifyAll, _context.DataSource.Clear, _logger);
            _listener = Task.Run(() => listener.RunAsync(_listening.Token), CancellationToken.None);
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        CancellationTokenSource? listening;
        lock (_gate)
        {
            listening = _listening;
        }

        if (listening is not null)
        {
            await listening.CancelAsync().ConfigureAwait(false);
            await _listener.ConfigureAwait(false);
            listening.Dispose();
        }

        if (_ownsContext)
        {
            await _context.DisposeAsync().ConfigureAwait(false);
        }
    }
}
