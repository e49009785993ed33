using System.Globalization;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;

namespace Job.TestSilo;

/// <summary>What both entry points of the test silo print: the same console log format and the
/// MEMBERSHIP and READY lines the tests wait for.</summary>
internal static class SiloOutput
{
    /// <summary>Single-line UTC console logging; Orleans and Microsoft only from warnings up.</summary>
    public static void ConfigureLogging(ILoggingBuilder logging)
    {
        logging.ClearProviders();
        logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss.fff ";
            o.UseUtcTimestamp = true;
        });
        logging.SetMinimumLevel(LogLevel.Information);
        logging.AddFilter("Orleans", LogLevel.Warning);
        logging.AddFilter("Microsoft", LogLevel.Warning);
        logging.AddFilter("Polly", LogLevel.Warning);
        logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Information);
    }

    /// <summary>Prints the membership timing in effect, then <c>READY &lt;siloAddress&gt;</c>.</summary>
    public static void Ready(string address, ClusterMembershipOptions membership)
    {
        Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"MEMBERSHIP ProbeTimeout={membership.ProbeTimeout} NumMissedProbesLimit={membership.NumMissedProbesLimit} NumProbedSilos={membership.NumProbedSilos} NumVotesForDeathDeclaration={membership.NumVotesForDeathDeclaration} DeathVoteExpirationTimeout={membership.DeathVoteExpirationTimeout} IAmAliveTablePublishTimeout={membership.IAmAliveTablePublishTimeout} TableRefreshTimeout={membership.TableRefreshTimeout} MaxJoinAttemptTime={membership.MaxJoinAttemptTime} UseLivenessGossip={membership.UseLivenessGossip} NumMissedTableIAmAliveLimit={membership.NumMissedTableIAmAliveLimit} LocalHealthDegradationMonitoringPeriod={membership.LocalHealthDegradationMonitoringPeriod} ExtendProbeTimeoutDuringDegradation={membership.ExtendProbeTimeoutDuringDegradation} EnableIndirectProbes={membership.EnableIndirectProbes} DefunctSiloExpiration={membership.DefunctSiloExpiration}"));
        Console.Out.WriteLine($"READY {address}");
        Console.Out.Flush();
    }

    /// <summary>Prints <c>STOPPED &lt;siloAddress&gt;</c> after an orderly shutdown.</summary>
    public static void Stopped(string address)
    {
        Console.Out.WriteLine($"STOPPED {address}");
        Console.Out.Flush();
    }
}
