using System.Runtime.InteropServices;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Configuration;

namespace Job.TestSilo;

/// <summary>
/// The test silo started the way an application using the crate-style facade starts:
/// <c>Jobs.InitAsync(JobSvcConfig.Builder().PgCon(cs)…)</c> with no endpoint, then
/// <c>AddInitializer</c> and <c>StartPollAsync</c> (<c>JOB_TEST_ENTRY=facade</c>). Whatever the facade
/// picks by default (the advertised address above all) is what the test sees. SIGTERM or SIGINT shut it
/// down through <c>ShutdownAsync</c>.
/// </summary>
internal static class FacadeSilo
{
    public static async Task<int> RunAsync(TestSiloSettings settings)
    {
        if (settings.ProbeTimeout is not null || settings.NumMissedProbesLimit is not null || settings.IAmAliveTablePublishTimeout is not null)
        {
            // The facade exposes no Orleans membership options: it runs with Job's defaults.
            throw new InvalidOperationException("JOB_TEST_ENTRY=facade takes no JOB_TEST_MEMBERSHIP_* settings.");
        }

        var builder = JobSvcConfig.Builder()
            .PgCon(settings.ConnectionString)
            .Cluster(settings.ClusterId, settings.ServiceId)
            .PollerConfig(settings.PollerConfig());
        // JOB_TEST_DEFAULT_LOGGING=1: the facade's own default logging, as an application gets it.
        var config = (settings.DefaultLogging ? builder : builder.Logging(SiloOutput.ConfigureLogging)).Build();
        await using var jobs = await Jobs.InitAsync(config).ConfigureAwait(false);
        var silo = jobs.Services.GetRequiredService<ILocalSiloDetails>();
        jobs.AddInitializer(new CrashWorkJob(silo));
        jobs.AddInitializer(new CrashBlockJob(silo));
        jobs.AddInitializer(new CrashDieJob(silo));
        jobs.AddInitializer(new CrashFailJob());

        var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        await jobs.StartPollAsync().ConfigureAwait(false);

        var address = silo.SiloAddress.ToParsableString();
        SiloOutput.Ready(address, jobs.Services.GetRequiredService<IOptions<ClusterMembershipOptions>>().Value);
        await stop.Task.ConfigureAwait(false);
        await jobs.ShutdownAsync().ConfigureAwait(false);
        SiloOutput.Stopped(address);
        return 0;

        void Stop(PosixSignalContext context)
        {
            context.Cancel = true;
            stop.TrySetResult();
        }
    }
}
