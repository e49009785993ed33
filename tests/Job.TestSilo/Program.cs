using System.Net;
using Job;
using Job.TestSilo;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Orleans.Configuration;

// A small silo for crash tests, run as its own process (`dotnet Job.TestSilo.dll`). Everything
// comes from environment variables so the test needs no command line; it prints
// "READY <siloAddress>" once the silo is active. Orleans membership timing stays at its defaults
// unless JOB_TEST_MEMBERSHIP_* variables say otherwise; JOB_TEST_SCHEDULES=1 declares recurring
// schedules (TestSchedules). JOB_TEST_ENTRY=facade starts it through the crate-style facade instead
// (Jobs.InitAsync with no endpoint: see FacadeSilo), JOB_TEST_ENTRY=silo through Job.Silo's command
// line (see SiloProgramEntry).
var settings = TestSiloSettings.FromEnvironment();
if (settings.Entry == TestSiloSettings.FacadeEntry)
{
    return await FacadeSilo.RunAsync(settings).ConfigureAwait(false);
}

if (settings.Entry == TestSiloSettings.SiloEntry)
{
    return await SiloProgramEntry.RunAsync(settings).ConfigureAwait(false);
}

var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { ContentRootPath = AppContext.BaseDirectory });
SiloOutput.ConfigureLogging(builder.Logging);
builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = settings.ShutdownTimeout + TimeSpan.FromSeconds(20));

builder.UseOrleans(silo =>
{
    silo.Configure<ClusterOptions>(o =>
    {
        o.ClusterId = settings.ClusterId;
        o.ServiceId = settings.ServiceId;
    });
    silo.Configure<SiloOptions>(o => o.SiloName = settings.Label);
    var ports = FreePorts.Take(2);
    silo.ConfigureEndpoints(IPAddress.Loopback, ports[0], ports[1], listenOnAnyHostAddress: false);
    silo.AddJobs(o =>
    {
        o.ConnectionString = settings.ConnectionString;
        o.Apply(settings.PollerConfig());
    });
    silo.Configure<ClusterMembershipOptions>(settings.ApplyMembership); // after AddJobs, so a test's setting wins
});
builder.Services.AddJobInitializer<CrashWorkJob>();
builder.Services.AddJobInitializer<CrashBlockJob>();
builder.Services.AddJobInitializer<CrashDieJob>();
builder.Services.AddJobInitializer<CrashFailJob>();
builder.Services.AddJobInitializer<CrashLimitedJob>(limits => limits.MaxRunning = CrashLimitedJob.MaxRunning);
builder.Services.AddJobInitializer<CrashRatedJob>(); // its rate limit comes from CrashRatedJob.Limits
if (settings.Schedules)
{
    builder.Services.AddRecurringJob(TestSchedules.EveryTwoSeconds);
    builder.Services.AddRecurringJob(TestSchedules.QueuedEveryThreeSeconds);
}

using var host = builder.Build();
await host.StartAsync().ConfigureAwait(false);

var address = host.Services.GetRequiredService<ILocalSiloDetails>().SiloAddress.ToParsableString();
SiloOutput.Ready(address, host.Services.GetRequiredService<IOptions<ClusterMembershipOptions>>().Value);

await host.WaitForShutdownAsync().ConfigureAwait(false);
SiloOutput.Stopped(address);
return 0;
