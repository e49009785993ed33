using Job.Dashboard;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the Job dashboard's services.</summary>
public static class JobDashboardServiceCollectionExtensions
{
    /// <summary>
    /// Registers the dashboard (map it with <c>app.MapJobDashboard("/jobs")</c>): its options, the
    /// counter that feeds the overview, antiforgery, and the start-up check that refuses to serve it
    /// off loopback without <see cref="JobDashboardOptions.AuthorizationPolicy"/>. It reads and acts
    /// through <see cref="Job.JobAdmin"/>, which <c>AddJobClient</c> or a silo's <c>AddJobs</c> registers.
    /// </summary>
    /// <example><code>
    /// builder.Services.AddJobClient(o => o.ConnectionString = …);
    /// builder.Services.AddJobDashboard(o => { o.AuthorizationPolicy = "ops"; o.AllowActions = true; });
    /// app.MapJobDashboard("/jobs");
    /// </code></example>
    public static IServiceCollection AddJobDashboard(this IServiceCollection services, Action<JobDashboardOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<JobDashboardOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<JobDashboardOptions>, JobDashboardOptionsValidator>());
        services.AddAntiforgery(o =>
        {
            o.Cookie.Name = ".job-dashboard.af";
            o.FormFieldName = "__af";
            o.SuppressXFrameOptionsHeader = true; // the dashboard sets its own (DENY)
        });
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<DashboardStats>();
        services.AddHostedService(sp => sp.GetRequiredService<DashboardStats>());
        services.AddHostedService<DashboardStartupCheck>();
        return services;
    }
}
