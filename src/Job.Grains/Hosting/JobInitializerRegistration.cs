using Job.Execution;
using Microsoft.Extensions.DependencyInjection;

namespace Job.Hosting;

/// <summary>A DI-registered initializer, added to the registry when the silo's services are built.</summary>
internal sealed class JobInitializerRegistration(Action<IServiceProvider, JobRegistry> register)
{
    public void Register(IServiceProvider services, JobRegistry registry) => register(services, registry);

    /// <param name="limits">Limits declared at registration; null: those of the initializer (<see cref="IJobInitializer{TConfig}.Limits"/>).</param>
    public static JobInitializerRegistration For<TInitializer, TConfig>(JobTypeLimits? limits = null)
        where TInitializer : class, IJobInitializer<TConfig> =>
        new((services, registry) =>
        {
            var initializer = services.GetRequiredService<TInitializer>();
            var spawners = services.GetRequiredService<JobSpawnerFactory>();
            var type = initializer.JobType;
            registry.Add(new RegisteredJobType<TConfig>(initializer, () => spawners.Create<TConfig>(type)));
            services.GetRequiredService<JobDeclarations>().DeclareLimits(type, limits ?? initializer.Limits);
        });
}
