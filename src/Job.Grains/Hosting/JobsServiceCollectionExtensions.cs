using System.Reflection;
using Job.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Job;

/// <summary>Registers job types in a host's services (the .NET-style path).</summary>
public static class JobsServiceCollectionExtensions
{
    private static readonly MethodInfo s_addCore = typeof(JobsServiceCollectionExtensions)
        .GetMethod(nameof(AddCore), BindingFlags.NonPublic | BindingFlags.Static)!;

    /// <summary>
    /// Registers <typeparamref name="TInitializer"/> (built by DI, a singleton) as a job type on the
    /// silos of this host, and makes <c>JobSpawner&lt;TConfig&gt;</c> injectable for it.
    /// </summary>
    /// <exception cref="ArgumentException">The type does not implement <see cref="IJobInitializer{TConfig}"/> exactly once.</exception>
    public static IServiceCollection AddJobInitializer<TInitializer>(this IServiceCollection services)
        where TInitializer : class
    {
        ArgumentNullException.ThrowIfNull(services);
        var config = ConfigTypeOf(typeof(TInitializer));
        services.TryAddSingleton<TInitializer>();
        s_addCore.MakeGenericMethod(typeof(TInitializer), config).Invoke(null, [services]);
        return services;
    }

    /// <summary>As <see cref="AddJobInitializer{TInitializer}(IServiceCollection)"/>, with a ready instance.</summary>
    public static IServiceCollection AddJobInitializer<TInitializer>(this IServiceCollection services, TInitializer initializer)
        where TInitializer : class
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(initializer);
        var config = ConfigTypeOf(typeof(TInitializer));
        services.AddSingleton(initializer);
        s_addCore.MakeGenericMethod(typeof(TInitializer), config).Invoke(null, [services]);
        return services;
    }

    private static void AddCore<TInitializer, TConfig>(IServiceCollection services)
        where TInitializer : class, IJobInitializer<TConfig>
    {
        services.AddSingleton(JobInitializerRegistration.For<TInitializer, TConfig>());
        services.AddSingleton(sp => sp.GetRequiredService<JobSpawnerFactory>().Create<TConfig>(sp.GetRequiredService<TInitializer>().JobType));
    }

    private static Type ConfigTypeOf(Type initializer)
    {
        var configs = initializer.GetInterfaces()
            .Where(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IJobInitializer<>))
            .Select(i => i.GetGenericArguments()[0])
            .ToList();
        return configs.Count == 1
            ? configs[0]
            : throw new ArgumentException($"{initializer.Name} must implement IJobInitializer<TConfig> exactly once to be registered as a job type (it implements it {configs.Count} times).", nameof(initializer));
    }
}
