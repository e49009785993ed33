using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Job;

/// <summary>Registers a <see cref="JobClient"/> in an application's services.</summary>
public static class JobClientServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="JobClient"/>, its <see cref="JobFlowControl"/>, <see cref="JobSchedules"/> and <see cref="JobAdmin"/> (singletons, built on first use) for an application that
    /// spawns and watches jobs without running them: no silo starts. The options are checked when
    /// the host starts (or when the client is first resolved, without a host).
    /// </summary>
    /// <example><code>
    /// builder.Services.AddJobClient(o => o.ConnectionString = builder.Configuration.GetConnectionString("Jobs"));
    /// // then: JobClient client → client.Spawner&lt;EmailConfig&gt;(new("email")).SpawnAsync(JobId.New(), config)
    /// </code></example>
    public static IServiceCollection AddJobClient(this IServiceCollection services, Action<JobClientOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<JobClientOptions>().Configure(configure).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<JobClientOptions>, JobClientOptionsValidator>());
        services.TryAddSingleton(sp => JobClient.Create(sp.GetRequiredService<IOptions<JobClientOptions>>().Value, sp.GetService<ILoggerFactory>()));
        services.TryAddSingleton(sp => sp.GetRequiredService<JobClient>().FlowControl);
        services.TryAddSingleton(sp => sp.GetRequiredService<JobClient>().Schedules);
        services.TryAddSingleton(sp => sp.GetRequiredService<JobClient>().Admin);
        return services;
    }
}
