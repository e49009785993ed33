using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Job.Telemetry;

/// <summary>
/// The runtime's traces and metrics, under the name <see cref="SourceName"/> for OpenTelemetry
/// (<c>.AddSource("Job")</c>, <c>.AddMeter("Job")</c>). The trace context current at spawn is stored
/// with the job and becomes the parent of every execution span, so runs show in the spawner's trace.
/// </summary>
public static class JobTelemetry
{
    /// <summary>The ActivitySource and Meter name.</summary>
    public const string SourceName = "Job";

    internal const string TagJobId = "job.id";
    internal const string TagJobType = "job.type";
    internal const string TagAttempt = "job.attempt";
    internal const string TagOutcome = "job.outcome";

    internal static readonly ActivitySource Source = new(SourceName);
    internal static readonly Meter Meter = new(SourceName);

    internal static readonly Counter<long> Spawned = Meter.CreateCounter<long>("job.spawned", description: "Jobs created.");
    internal static readonly Counter<long> Claimed = Meter.CreateCounter<long>("job.claimed", description: "Runs claimed by this silo.");
    internal static readonly Counter<long> Finished = Meter.CreateCounter<long>("job.runs", description: "Runs finished, by outcome.");
    internal static readonly Counter<long> StaleWrites = Meter.CreateCounter<long>("job.stale_writes", description: "Writes rejected because the claim was no longer current (fencing).");
    internal static readonly Counter<long> Pruned = Meter.CreateCounter<long>("job.pruned", description: "Finished jobs deleted with their history after the retention.");
    internal static readonly Counter<long> Rescued = Meter.CreateCounter<long>("job.rescued", description: "Running jobs handed back because their silo died or their heartbeat stopped.");

    internal static Activity? StartSpawn(string jobType, int count, bool unique)
    {
        var activity = Source.StartActivity("job.spawn", ActivityKind.Producer);
        activity?.SetTag(TagJobType, jobType);
        activity?.SetTag("job.count", count);
        activity?.SetTag("job.unique", unique);
        return activity;
    }

    internal static Activity? StartClaim(int limit)
    {
        var activity = Source.StartActivity("job.claim", ActivityKind.Internal);
        activity?.SetTag("job.claim.limit", limit);
        return activity;
    }

    internal static Activity? StartExecute(JobId id, string jobType, int attempt, string? traceParent)
    {
        ActivityContext.TryParse(traceParent, null, out var parent);
        var activity = Source.StartActivity("job.execute", ActivityKind.Consumer, parent);
        activity?.SetTag(TagJobId, id.ToString());
        activity?.SetTag(TagJobType, jobType);
        activity?.SetTag(TagAttempt, attempt);
        return activity;
    }

    /// <summary>The W3C traceparent of the current activity, to be stored with a new job.</summary>
    internal static string? CurrentTraceParent() =>
        Activity.Current is { IdFormat: ActivityIdFormat.W3C } current ? current.Id : null;
}
