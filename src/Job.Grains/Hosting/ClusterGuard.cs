using Microsoft.Extensions.Options;
using Orleans.Configuration;

namespace Job.Hosting;

/// <summary>
/// One cluster per database. Silos that Orleans membership cannot see (another cluster id on the same
/// tables) would claim each other's jobs and never rescue them: when one dies, the others are not told.
/// So a silo refuses to start while a silo of another cluster id is alive on the same database (an
/// Active member whose I-am-alive is recent by Orleans' own measure), with an error naming both ids.
/// A cluster whose silos all stopped or died no longer counts once their I-am-alive ages out.
/// </summary>
internal sealed class ClusterGuard(JobRuntime runtime, IOptions<ClusterOptions> cluster, IOptions<ClusterMembershipOptions> membership)
{
    public async Task CheckAsync(CancellationToken ct)
    {
        if (!runtime.Options.UsePostgresClustering)
        {
            return; // membership is not Job's to read
        }

        var options = membership.Value;
        var aliveWithin = options.IAmAliveTablePublishTimeout * Math.Max(1, options.NumMissedTableIAmAliveLimit);
        var clusterId = cluster.Value.ClusterId;
        if (await runtime.Maintenance.ForeignClusterAsync(clusterId, aliveWithin, ct).ConfigureAwait(false) is { } other)
        {
            throw new JobClusterConflictException(clusterId, other.ClusterId, other.Address, other.SecondsAgo, aliveWithin);
        }
    }
}

/// <summary>
/// A silo tried to join a database that a live silo of another cluster id uses. Every process on one
/// database (and schema) must use the same cluster id: they then form one cluster that sees its
/// members die and rescues their jobs.
/// </summary>
public sealed class JobClusterConflictException : JobException
{
    /// <summary>Creates the error naming both cluster ids and the live silo.</summary>
    public JobClusterConflictException(string clusterId, string otherClusterId, string otherSilo, int secondsAgo, TimeSpan aliveWithin)
        : base($"This silo's cluster id is '{clusterId}', but silo {otherSilo} of cluster '{otherClusterId}' is alive on the same database " +
               $"(its last I-am-alive {secondsAgo} s ago). Silos of different clusters would run each other's jobs and never rescue them, " +
               $"so every process on one database must use the same cluster id: set it to '{otherClusterId}' " +
               "(JobSvcConfig.Builder().Cluster(…), ClusterOptions.ClusterId, Orleans:ClusterId), " +
               $"or stop that cluster; a silo that died counts as gone {aliveWithin.TotalSeconds:0} s after its last I-am-alive.")
    {
        ClusterId = clusterId;
        OtherClusterId = otherClusterId;
    }

    /// <summary>This silo's cluster id.</summary>
    public string ClusterId { get; }

    /// <summary>The cluster id of the silo already alive on the database.</summary>
    public string OtherClusterId { get; }
}
