using Job.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Runtime;

namespace Job;

/// <summary>Adds the job runtime's readiness to a host's health checks.</summary>
public static class JobsHealthChecksBuilderExtensions
{
    /// <summary>
    /// Adds <see cref="JobsHealthCheck"/> (the silo is Active and the job database answers), so an
    /// application that runs the job runtime in its own host (<c>siloBuilder.AddJobs(…)</c>) can serve
    /// it from its own readiness endpoint, e.g.
    /// <c>app.MapHealthChecks("/readyz", new() { Predicate = c =&gt; c.Tags.Contains(JobsHealthCheck.ReadyTag) })</c>.
    /// </summary>
    /// <param name="builder">The host's health checks.</param>
    /// <param name="name">The check's name in reports.</param>
    /// <param name="tags">Tags to select the check by; default <see cref="JobsHealthCheck.ReadyTag"/>.</param>
    public static IHealthChecksBuilder AddJobs(this IHealthChecksBuilder builder, string name = "jobs", IEnumerable<string>? tags = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var services = builder.Services;
        if (!services.Any(d => d.ServiceType == typeof(JobSiloReadiness)))
        {
            services.AddSingleton<JobSiloReadiness>();
            services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<JobSiloReadiness>());
        }

        return builder.Add(new HealthCheckRegistration(
            name,
            sp => new JobsHealthCheck(
                sp.GetRequiredService<JobSiloReadiness>(),
                sp.GetService<JobRuntime>() ?? throw new InvalidOperationException("The Jobs health check needs the job runtime: call siloBuilder.AddJobs(…) in this host."),
                sp.GetRequiredService<IHostApplicationLifetime>(),
                sp.GetRequiredService<ILogger<JobsHealthCheck>>()),
            failureStatus: HealthStatus.Unhealthy,
            tags: tags ?? [JobsHealthCheck.ReadyTag],
            timeout: JobsHealthCheck.DatabaseTimeout + TimeSpan.FromSeconds(1)));
    }
}
