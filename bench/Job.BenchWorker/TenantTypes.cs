using Job.Execution;
using Job.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace Job.BenchWorker;

/// <summary>
/// Registers N generated types (<c>tenant-0</c> … <c>tenant-(N-1)</c>) on this silo. The public
/// <c>AddJobInitializer&lt;T&gt;</c> registers one type per initializer class (it resolves the class from
/// DI, so many instances of one class would all resolve to the last), so this goes through the
/// runtime's internal registration, as the crate-style <c>Jobs.AddInitializer</c> does. This is the
/// only place the worker uses the runtime's internals.
/// </summary>
internal static class TenantTypes
{
    public static void Register(IServiceCollection services, int count)
    {
        services.AddSingleton(new JobInitializerRegistration((sp, registry) =>
        {
            var counters = sp.GetRequiredService<RunCounters>();
            var spawners = sp.GetRequiredService<JobSpawnerFactory>();
            for (var i = 0; i < count; i++)
            {
                var type = new JobType(WorkerJobTypes.Tenant(i));
                registry.Add(new RegisteredJobType<TenantConfig>(new TenantJob(type, counters), () => spawners.Create<TenantConfig>(type)));
            }
        }));
    }
}
