using System.Globalization;
using System.Net;
using Job;
using Job.TestSilo;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Configuration;

// A small silo for crash tests, run as its own process (`dotnet Job.TestSilo.dll`). Everything
// comes from environment variables so the test needs no command line; it prints
// "READY <siloAddress>" once the silo is active. Orleans membership timing stays at its defaults
// unless JOB_TEST_MEMBERSHIP_* variables say otherwise.
var settings = TestSiloSettings.FromEnvironment();

var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { ContentRootPath = AppContext.BaseDirectory });
builder.Logging.ClearProviders();
builder.Logging.AddSimpleConsole(o =>
{
    o.SingleLine = true;
    o.TimestampFormat = "HH:mm:ss.fff ";
    o.UseUtcTimestamp = true;
});
builder.Logging.SetMinimumLevel(LogLevel.Information);
builder.Logging.AddFilter("Orleans", LogLevel.Warning);
builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
builder.Logging.AddFilter("Polly", LogLevel.Warning);
builder.Logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Information);
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
        o.MaxJobsPerProcess = settings.MaxJobs;
        o.MinJobsPerProcess = settings.MinJobs;
        o.JobLostInterval = settings.JobLostInterval;
        o.ShutdownTimeout = settings.ShutdownTimeout;
        o.MaxPollInterval = settings.MaxPollInterval;
    });
    silo.Configure<ClusterMembershipOptions>(settings.ApplyMembership); // after AddJobs, so a test's setting wins
});
builder.Services.AddJobInitializer<CrashWorkJob>();
builder.Services.AddJobInitializer<CrashBlockJob>();

using var host = builder.Build();
await host.StartAsync().ConfigureAwait(false);

var address = host.Services.GetRequiredService<ILocalSiloDetails>().SiloAddress.ToParsableString();
var membership = host.Services.GetRequiredService<IOptions<ClusterMembershipOptions>>().Value;
Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"MEMBERSHIP ProbeTimeout={membership.ProbeTimeout} NumMissedProbesLimit={membership.NumMissedProbesLimit} NumProbedSilos={membership.NumProbedSilos} NumVotesForDeathDeclaration={membership.NumVotesForDeathDeclaration} DeathVoteExpirationTimeout={membership.DeathVoteExpirationTimeout} IAmAliveTablePublishTimeout={membership.IAmAliveTablePublishTimeout} TableRefreshTimeout={membership.TableRefreshTimeout} MaxJoinAttemptTime={membership.MaxJoinAttemptTime} UseLivenessGossip={membership.UseLivenessGossip} NumMissedTableIAmAliveLimit={membership.NumMissedTableIAmAliveLimit} LocalHealthDegradationMonitoringPeriod={membership.LocalHealthDegradationMonitoringPeriod} ExtendProbeTimeoutDuringDegradation={membership.ExtendProbeTimeoutDuringDegradation} EnableIndirectProbes={membership.EnableIndirectProbes} DefunctSiloExpiration={membership.DefunctSiloExpiration}"));
Console.Out.WriteLine($"READY {address}");
Console.Out.Flush();

await host.WaitForShutdownAsync().ConfigureAwait(false);
Console.Out.WriteLine($"STOPPED {address}");
Console.Out.Flush();
return 0;
