using Job.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace Job;

/// <summary>Declares recurring schedules in a host's services, for the silos of that host.</summary>
public static class RecurringJobServiceCollectionExtensions
{
    /// <summary>
    /// Declares a recurring schedule: every tick of its cron expression spawns one job of its type,
    /// exactly once across the cluster. Written when a silo of this host starts, under the rule that the
    /// latest change wins: a silo starting with the same declaration leaves a run-time change alone
    /// (<see cref="JobSchedules"/>), a changed declaration applies on deploy (a changed expression from
    /// its next tick after now, a changed config from the next tick: no tick skipped or repeated).
    /// The job type must be registered on the same silos (<c>AddJobInitializer</c>).
    /// </summary>
    /// <example><code>
    /// services.AddJobInitializer&lt;ReportJob&gt;();
    /// services.AddRecurringJob(new JobScheduleSpec&lt;ReportConfig&gt;("nightly-report", ReportJob.Type, "0 2 * * *", new("eu"))
    /// {
    ///     TimeZone = "Europe/Zurich",
    ///     Overlap = JobOverlapPolicy.Queue,
    /// });
    /// </code></example>
    /// <exception cref="InvalidCronExpressionException">Cronos cannot read the expression, or it never fires.</exception>
    /// <exception cref="UnknownTimeZoneException">The time zone is unknown on this machine.</exception>
    /// <exception cref="InvalidJobScheduleException">Another field is invalid.</exception>
    public static IServiceCollection AddRecurringJob<TConfig>(this IServiceCollection services, JobScheduleSpec<TConfig> spec)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddSingleton(ScheduleDeclaration.For(spec));
        return services;
    }

    /// <summary>As <see cref="AddRecurringJob{TConfig}(IServiceCollection, JobScheduleSpec{TConfig})"/>, with the
    /// default policies (misfire RunOnce, overlap Skip).</summary>
    public static IServiceCollection AddRecurringJob<TConfig>(this IServiceCollection services, string name, JobType jobType, string cron, TConfig config,
        string timeZone = JobScheduleSpec<TConfig>.Utc) =>
        services.AddRecurringJob(new JobScheduleSpec<TConfig>(name, jobType, cron, config) { TimeZone = timeZone });

    /// <summary>
    /// Retires a schedule an earlier deploy declared in code: the silos of this host remove it when they
    /// start (a schedule is never removed just because a silo no longer declares it, since another
    /// application or the old version in a rolling deploy may still declare it; such a silo warns).
    /// </summary>
    /// <exception cref="InvalidJobScheduleException">Not a valid schedule name.</exception>
    public static IServiceCollection RetireRecurringJob(this IServiceCollection services, string name)
    {
        ArgumentNullException.ThrowIfNull(services);
        Scheduling.ScheduleDefinition.CheckName(name);
        services.AddSingleton(new ScheduleRetirement(name));
        return services;
    }
}
