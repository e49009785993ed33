using Job.Hosting;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Job;

/// <summary>
/// Readiness of the job runtime in this silo: healthy when the silo is Active (its poller claims
/// jobs) and the job database answers. Probes are unauthenticated, so the result carries fixed
/// descriptions only; why the database did not answer (PostgreSQL's error text, the server's
/// address) goes to the log at Warning, never into the response. Add it with
/// <see cref="JobsHealthChecksBuilderExtensions.AddJobs"/>.
/// </summary>
public sealed partial class JobsHealthCheck : IHealthCheck
{
    /// <summary>The tag the check carries by default: readiness endpoints select checks by it.</summary>
    public const string ReadyTag = "ready";

    /// <summary>The description when the silo is not (or no longer) Active.</summary>
    public const string NotActive = "silo not active";

    /// <summary>The description when the job database did not answer.</summary>
    public const string DatabaseUnavailable = "database unavailable";

    /// <summary>The description when the runtime is ready.</summary>
    public const string Ready = "ready";

    /// <summary>The longest a database probe may take, so a hung server fails the probe rather than the prober.</summary>
    internal static readonly TimeSpan DatabaseTimeout = TimeSpan.FromSeconds(3);

    private readonly JobSiloReadiness _readiness;
    private readonly JobRuntime _runtime;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly ILogger<JobsHealthCheck> _logger;

    internal JobsHealthCheck(JobSiloReadiness readiness, JobRuntime runtime, IHostApplicationLifetime lifetime, ILogger<JobsHealthCheck> logger)
    {
        _readiness = readiness;
        _runtime = runtime;
        _lifetime = lifetime;
        _logger = logger;
    }

    /// <inheritdoc />
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        var failure = context.Registration.FailureStatus;
        if (!_readiness.IsActive || _lifetime.ApplicationStopping.IsCancellationRequested)
        {
            return new HealthCheckResult(failure, NotActive);
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(DatabaseTimeout);
        try
        {
            await using var command = _runtime.DataSource.CreateCommand("SELECT 1");
            await command.ExecuteScalarAsync(timeout.Token).ConfigureAwait(false);
            return HealthCheckResult.Healthy(Ready);
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException or InvalidOperationException
            || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            LogDatabaseUnavailable(ex);
            return new HealthCheckResult(failure, DatabaseUnavailable);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Readiness: the job database did not answer.")]
    private partial void LogDatabaseUnavailable(Exception exception);
}
