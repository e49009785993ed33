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
        s_addCore.MakeGenericMethod(typeof(TInitializer), config).Invoke(null, [services, null]);
        return services;
    }

    /// <summary>
    /// As <see cref="AddJobInitializer{TInitializer}(IServiceCollection)"/>, declaring the type's
    /// cluster-wide limits in code (they replace the initializer's own <see cref="IJobInitializer{TConfig}.Limits"/>).
    /// Applied when a silo starts: the latest change wins, so a run-time change through
    /// <see cref="JobFlowControl"/> survives restarts until a deploy changes this declaration.
    /// </summary>
    /// <example><code>
    /// services.AddJobInitializer&lt;EmailJob&gt;(limits =&gt;
    /// {
    ///     limits.MaxRunning = 5;                                          // at most 5 running in the cluster
    ///     limits.RateLimit = new JobRateLimit(100, TimeSpan.FromMinutes(1)); // at most 100 starts a minute
    /// });
    /// </code></example>
    /// <exception cref="ArgumentOutOfRangeException">A limit is out of range (checked when the silo's registry is built).</exception>
    public static IServiceCollection AddJobInitializer<TInitializer>(this IServiceCollection services, Action<JobTypeLimits> limits)
        where TInitializer : class
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(limits);
        var declared = new JobTypeLimits();
        limits(declared);
        var config = ConfigTypeOf(typeof(TInitializer));
        services.TryAddSingleton<TInitializer>();
        s_addCore.MakeGenericMethod(typeof(TInitializer), config).Invoke(null, [services, declared]);
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
        s_addCore.MakeGenericMethod(typeof(TInitializer), config).Invoke(null, [services, null]);
        return services;
    }

    private static void AddCore<TInitializer, TConfig>(IServiceCollection services, JobTypeLimits? limits)
        where TInitializer : class, IJobInitializer<TConfig>
    {
        services.AddSingleton(JobInitializerRegistration.For<TInitializer, TConfig>(limits));
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
