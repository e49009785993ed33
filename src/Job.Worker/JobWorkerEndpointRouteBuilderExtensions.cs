using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Job.Worker;

/// <summary>The worker's HTTP endpoints: liveness, readiness and the Prometheus scrape.</summary>
public static class JobWorkerEndpointRouteBuilderExtensions
{
    /// <summary>The liveness path: 200 while the process runs.</summary>
    public const string LivenessPath = "/healthz";

    /// <summary>The readiness path: 200 when the silo is Active and the job database answers, 503 otherwise.</summary>
    public const string ReadinessPath = "/readyz";

    /// <summary>
    /// Maps <see cref="LivenessPath"/>, <see cref="ReadinessPath"/> and, with <c>Metrics:Prometheus</c>,
    /// <see cref="WorkerMetricsOptions.PrometheusPath"/>: what orchestrators and scrapers ask a worker.
    /// </summary>
    public static IEndpointRouteBuilder MapJobWorkerEndpoints(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        endpoints.MapJobWorkerHealthChecks();
        endpoints.MapJobWorkerMetrics();
        endpoints.MapJobWorkerDashboard();
        return endpoints;
    }

    /// <summary>Serves the Job dashboard at the root of <c>Dashboard:Port</c> when it is set (see
    /// <see cref="WorkerDashboardOptions"/>); nothing otherwise.</summary>
    public static IEndpointRouteBuilder MapJobWorkerDashboard(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var dashboard = endpoints.ServiceProvider.GetService<IOptions<WorkerDashboardOptions>>()?.Value;
        if (dashboard?.Port is not null)
        {
            endpoints.MapJobDashboard("/");
        }

        return endpoints;
    }

    /// <summary>
    /// Maps liveness (no check: the process answers) and readiness (the checks tagged
    /// <see cref="JobsHealthCheck.ReadyTag"/>). Bodies are plain text with fixed words per check, never
    /// an exception's message: the endpoints answer anyone who can reach the port.
    /// </summary>
    public static IEndpointRouteBuilder MapJobWorkerHealthChecks(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        endpoints.MapHealthChecks(LivenessPath, new HealthCheckOptions
        {
            Predicate = _ => false,
            ResponseWriter = HealthResponse.WriteAsync,
        });
        endpoints.MapHealthChecks(ReadinessPath, new HealthCheckOptions
        {
            Predicate = check => check.Tags.Contains(JobsHealthCheck.ReadyTag),
            ResponseWriter = HealthResponse.WriteAsync,
        });
        return endpoints;
    }

    /// <summary>Maps the Prometheus scrape endpoint when <c>Metrics:Prometheus</c> is on (the default).</summary>
    public static IEndpointRouteBuilder MapJobWorkerMetrics(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var metrics = endpoints.ServiceProvider.GetService<IOptions<WorkerMetricsOptions>>()?.Value;
        if (metrics?.Prometheus == true)
        {
            endpoints.MapPrometheusScrapingEndpoint(WorkerMetricsOptions.PrometheusPath);
        }

        return endpoints;
    }
}
