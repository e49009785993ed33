using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Job.Telemetry;

/// <summary>
/// Job's traces and metrics, under the name <see cref="SourceName"/> for OpenTelemetry
/// (<c>.AddSource("Job")</c>, <c>.AddMeter("Job")</c>). The trace context current at spawn is stored
/// with the job and becomes the parent of every execution span, so runs show in the spawner's trace.
/// The metrics answer an operator's questions: how deep the queue is per type and state
/// (<c>job.queue.depth</c>), how many run here now (<c>job.running</c>), how late jobs start
/// (<c>job.dispatch.lag</c>), how long they run (<c>job.run.duration</c>), how they end
/// (<c>job.runs</c> by outcome: failures are <c>retry</c> and <c>errored</c>), and what was rescued,
/// refused (<c>job.stale_writes</c>) or pruned.
/// </summary>
public static class JobTelemetry
{
    /// <summary>The ActivitySource and Meter name.</summary>
    public const string SourceName = "Job";

    internal const string TagJobId = "job.id";
    internal const string TagJobType = "job.type";
    internal const string TagAttempt = "job.attempt";
    internal const string TagOutcome = "job.outcome";
    internal const string TagState = "job.state";
    internal const string TagSilo = "job.silo";

    internal static readonly ActivitySource Source = new(SourceName);
    internal static readonly Meter Meter = new(SourceName);

    private static readonly ConcurrentDictionary<object, Func<IEnumerable<Measurement<long>>>> s_running = new();
    private static readonly ConcurrentDictionary<object, Func<IEnumerable<Measurement<long>>>> s_depth = new();

    internal static readonly Counter<long> Spawned = Meter.CreateCounter<long>("job.spawned", "{job}", "Jobs created, by type.");
    internal static readonly Counter<long> Claimed = Meter.CreateCounter<long>("job.claimed", "{job}", "Runs claimed by this silo.");
    internal static readonly Counter<long> Runs = Meter.CreateCounter<long>("job.runs", "{run}", "Runs ended, by type and outcome (completed, rescheduled, retry, errored, handed_back, cancelled).");
    internal static readonly Histogram<double> RunDuration = Meter.CreateHistogram<double>("job.run.duration", "s", "How long runs took, by type and outcome.");
    internal static readonly Histogram<double> DispatchLag = Meter.CreateHistogram<double>("job.dispatch.lag", "s", "From a job's due time to its claim, by type.");
    internal static readonly Counter<long> StaleWrites = Meter.CreateCounter<long>("job.stale_writes", "{write}", "Writes refused because the claim was no longer current (fencing).");
    internal static readonly Counter<long> Pruned = Meter.CreateCounter<long>("job.pruned", "{job}", "Finished jobs deleted with their history after the retention.");
    internal static readonly Counter<long> ScheduleTicks = Meter.CreateCounter<long>("job.schedule.ticks", "{tick}", "Ticks of recurring schedules, by schedule and outcome (spawned, skipped: the previous tick's job had not ended, missed: dropped by the misfire policy).");
    internal const string TagSchedule = "job.schedule";
    internal static readonly Counter<long> Rescued = Meter.CreateCounter<long>("job.rescued", "{job}", "Running jobs put back because their silo died or their heartbeat stopped.");

    static JobTelemetry()
    {
        Meter.CreateObservableUpDownCounter("job.running", () => s_running.Values.SelectMany(f => f()), "{run}", "Runs executing now, per silo.");
        Meter.CreateObservableGauge("job.queue.depth", () => s_depth.Values.SelectMany(f => f()), "{job}", "Live jobs by type and state (pending, scheduled, parked, running), as last counted.");
    }

    /// <summary>Reports this silo's executing runs under <c>job.running</c> until disposed.</summary>
    internal static IDisposable ObserveRunning(Func<IEnumerable<Measurement<long>>> observe) => Observe(s_running, observe);

    /// <summary>Reports the queue's depth under <c>job.queue.depth</c> until disposed.</summary>
    internal static IDisposable ObserveQueueDepth(Func<IEnumerable<Measurement<long>>> observe) => Observe(s_depth, observe);

    internal static void RecordRun(string jobType, string outcome, TimeSpan duration)
    {
        var tags = new TagList { { TagJobType, jobType }, { TagOutcome, outcome } };
        Runs.Add(1, tags);
        RunDuration.Record(duration.TotalSeconds, tags);
    }

    internal static Activity? StartSpawn(string jobType, int count, bool unique)
    {
        var activity = Source.StartActivity("job.spawn", ActivityKind.Producer);
        activity?.SetTag(TagJobType, jobType);
        activity?.SetTag("job.count", count);
        activity?.SetTag("job.unique", unique);
        return activity;
    }

    /// <summary>A schedule's ticks being fired: the parent of their jobs' runs.</summary>
    internal static Activity? StartScheduleFire(string schedule, string jobType, int ticks)
    {
        var activity = Source.StartActivity("job.schedule.fire", ActivityKind.Producer);
        activity?.SetTag(TagSchedule, schedule);
        activity?.SetTag(TagJobType, jobType);
        activity?.SetTag("job.schedule.ticks", ticks);
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

    private static IDisposable Observe(ConcurrentDictionary<object, Func<IEnumerable<Measurement<long>>>> sources, Func<IEnumerable<Measurement<long>>> observe)
    {
        var key = new object();
        sources[key] = observe;
        return new Registration(() => sources.TryRemove(key, out _));
    }

    private sealed class Registration(Action remove) : IDisposable
    {
        private int _done;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _done, 1) == 0)
            {
                remove();
            }
        }
    }
}
