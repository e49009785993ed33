using System.Globalization;
using Job.Silo.Commands;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Orleans.Configuration;

namespace Job.TestSilo;

/// <summary>
/// The test silo started as <c>Job.Silo</c> starts (<c>JOB_TEST_ENTRY=silo</c>): its command line, verb
/// <c>run</c>, with the settings as <c>--Key=Value</c> arguments, so its settings binder, <c>AddJobWorker</c>
/// (Orleans from configuration, health, metrics, logging, shutdown) and endpoints are what runs. The crash
/// job types are added beside its demo types; READY and STOPPED are printed from the host's lifetime. It
/// runs with Job's membership defaults, as Job.Silo does.
/// </summary>
internal static class SiloProgramEntry
{
    public static Task<int> RunAsync(TestSiloSettings settings)
    {
        if (settings.ProbeTimeout is not null || settings.NumMissedProbesLimit is not null || settings.IAmAliveTablePublishTimeout is not null)
        {
            throw new InvalidOperationException("JOB_TEST_ENTRY=silo takes no JOB_TEST_MEMBERSHIP_* settings: Job.Silo runs with Job's defaults.");
        }

        string[] args =
        [
            "run",
            $"--ConnectionStrings:Jobs={settings.ConnectionString}",
            $"--Orleans:ClusterId={settings.ClusterId}",
            $"--Orleans:ServiceId={settings.ServiceId}",
            "--Orleans:SiloPort=0",
            "--Orleans:GatewayPort=0",
            "--Health:Port=0",
            $"--Jobs:MaxJobsPerProcess={settings.MaxJobs.ToString(CultureInfo.InvariantCulture)}",
            $"--Jobs:MinJobsPerProcess={settings.MinJobs.ToString(CultureInfo.InvariantCulture)}",
            $"--Jobs:JobLostInterval={Ms(settings.JobLostInterval)}",
            $"--Jobs:ShutdownTimeout={Ms(settings.ShutdownTimeout)}",
            $"--Jobs:MaxPollInterval={Ms(settings.MaxPollInterval)}",
        ];
        return SiloCommandLine.RunAsync(args, services =>
        {
            services.AddJobInitializer<CrashWorkJob>();
            services.AddJobInitializer<CrashBlockJob>();
            services.AddJobInitializer<CrashDieJob>();
            services.AddJobInitializer<CrashFailJob>();
            services.AddHostedService<ReadyReporter>();
        });
    }

    private static string Ms(TimeSpan duration) => ((long)duration.TotalMilliseconds).ToString(CultureInfo.InvariantCulture) + "ms";

    /// <summary>Prints READY once the host has started (the silo is active) and STOPPED after it stopped.</summary>
    private sealed class ReadyReporter(IHostApplicationLifetime lifetime, ILocalSiloDetails silo, IOptions<ClusterMembershipOptions> membership) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            var address = silo.SiloAddress.ToParsableString();
            lifetime.ApplicationStarted.Register(() => SiloOutput.Ready(address, membership.Value));
            lifetime.ApplicationStopped.Register(() => SiloOutput.Stopped(address));
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
