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
/// (<c>job.runs</c> by outcome: failures are <c>retry</c> and <c>errored</c>), and what was rescued
/// (<c>job.rescued</c> by reason), refused (<c>job.stale_writes</c>) or pruned. Names follow
/// OpenTelemetry's conventions (dotted lowercase, UCUM units, seconds for durations, no <c>_total</c>:
/// the Prometheus exporter adds it), so Prometheus sees <c>job_runs_total</c>,
/// <c>job_run_duration_seconds</c> and so on (deploy/grafana/job-dashboard.json uses them).
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
    internal const string TagRescueReason = "job.rescue.reason";

    /// <summary>Every outcome a run can end with (<c>job.runs</c>' <c>job.outcome</c>).</summary>
    internal static readonly string[] Outcomes = ["completed", "rescheduled", "retry", "errored", "handed_back", "cancelled"];

    /// <summary>The outcomes of a recurring schedule's tick under <c>job.schedule.ticks</c>.</summary>
    internal static readonly string[] ScheduleTickOutcomes = ["spawned", "skipped", "missed"];

    /// <summary>Every reason a running job is rescued for (<c>job.rescued</c>' <c>job.rescue.reason</c>): the history event it writes.</summary>
    internal static readonly string[] RescueReasons = [JobEventTypes.SiloLost, JobEventTypes.JobLost];

    // Seconds, from a millisecond to an hour: a no-op run and a late start are milliseconds, a batch job or a
    // backlog minutes. (The SDK's default buckets, 0 to 10,000, are made for milliseconds.)
    private static readonly IReadOnlyList<double> s_secondsBuckets =
        [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

    internal static readonly ActivitySource Source = new(SourceName);
    internal static readonly Meter Meter = new(SourceName);

    private static readonly ConcurrentDictionary<object, Func<IEnumerable<Measurement<long>>>> s_running = new();
    private static readonly ConcurrentDictionary<object, Func<IEnumerable<Measurement<long>>>> s_depth = new();

    internal static readonly Counter<long> Spawned = Meter.CreateCounter<long>("job.spawned", "{job}", "Jobs created, by type.");
    internal static readonly Counter<long> Claimed = Meter.CreateCounter<long>("job.claimed", "{job}", "Runs claimed by this silo.");
    internal static readonly Counter<long> Runs = Meter.CreateCounter<long>("job.runs", "{run}", "Runs ended, by type and outcome (completed, rescheduled, retry, errored, handed_back, cancelled).");
    internal static readonly Histogram<double> RunDuration = Meter.CreateHistogram("job.run.duration", "s", "How long runs took, by type and outcome.",
        tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = s_secondsBuckets });
    internal static readonly Histogram<double> DispatchLag = Meter.CreateHistogram("job.dispatch.lag", "s", "From a job's due time to its claim, by type.",
        tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = s_secondsBuckets });
    internal static readonly Counter<long> StaleWrites = Meter.CreateCounter<long>("job.stale_writes", "{write}", "Writes refused because the claim was no longer current (fencing).");
    internal static readonly Counter<long> Pruned = Meter.CreateCounter<long>("job.pruned", "{job}", "Finished jobs deleted with their history after the retention.");
    internal static readonly Counter<long> ScheduleTicks = Meter.CreateCounter<long>("job.schedule.ticks", "{tick}", "Ticks of recurring schedules, by schedule and outcome (spawned, skipped: the previous tick's job had not ended, missed: dropped by the misfire policy).");
    internal const string TagSchedule = "job.schedule";
    internal static readonly Counter<long> Rescued = Meter.CreateCounter<long>("job.rescued", "{job}", "Running jobs put back, by type and reason: silo_lost (their silo was declared dead) or job_lost (their heartbeat stopped).");

    static JobTelemetry()
    {
        Meter.CreateObservableUpDownCounter("job.running", () => s_running.Values.SelectMany(f => f()), "{run}", "Runs executing now, per silo.");
        Meter.CreateObservableGauge("job.queue.depth", () => s_depth.Values.SelectMany(f => f()), "{job}", "Live jobs by type and state (pending, scheduled, parked, running), as last counted.");
    }

    /// <summary>Reports this silo's executing runs under <c>job.running</c> until disposed.</summary>
    internal static IDisposable ObserveRunning(Func<IEnumerable<Measurement<long>>> observe) => Observe(s_running, observe);

    /// <summary>Reports the queue's depth under <c>job.queue.depth</c> until disposed.</summary>
    internal static IDisposable ObserveQueueDepth(Func<IEnumerable<Measurement<long>>> observe) => Observe(s_depth, observe);

    /// <summary>
    /// Starts every counter's series of this silo's job types at zero. A series that appears only at its
    /// first event hides that event from <c>rate()</c> and <c>increase()</c> (they need two samples), and
    /// a dashboard shows "no data" rather than 0 for a type that never failed; starting at zero fixes both.
    /// </summary>
    /// <param name="jobTypes">This silo's job types.</param>
    /// <param name="schedules">The recurring schedules this silo declares: their tick counts start at zero
    /// here too, so an alert on missed ticks sees the first one (the leader, wherever it runs, counts them).</param>
    internal static void StartSeries(IEnumerable<string> jobTypes, IEnumerable<string> schedules)
    {
        foreach (var schedule in schedules)
        {
            foreach (var outcome in ScheduleTickOutcomes)
            {
                ScheduleTicks.Add(0, new KeyValuePair<string, object?>(TagSchedule, schedule), new KeyValuePair<string, object?>(TagOutcome, outcome));
            }
        }

        Claimed.Add(0);
        Pruned.Add(0);
        foreach (var jobType in jobTypes)
        {
            var type = new KeyValuePair<string, object?>(TagJobType, jobType);
            Spawned.Add(0, type);
            StaleWrites.Add(0, type);
            foreach (var outcome in Outcomes)
            {
                Runs.Add(0, type, new KeyValuePair<string, object?>(TagOutcome, outcome));
            }

            foreach (var reason in RescueReasons)
            {
                Rescued.Add(0, type, new KeyValuePair<string, object?>(TagRescueReason, reason));
            }
        }
    }

    /// <summary>Counts a rescued job under <c>job.rescued</c>.</summary>
    internal static void RecordRescue(string jobType, string reason) =>
        Rescued.Add(1, new KeyValuePair<string, object?>(TagJobType, jobType), new KeyValuePair<string, object?>(TagRescueReason, reason));

    /// <summary>Counts a run and records its duration from <paramref name="startedTimestamp"/> (a
    /// <see cref="Stopwatch"/> timestamp); nothing at all while no listener observes either instrument.</summary>
    internal static void RecordRun(string jobType, string outcome, long startedTimestamp)
    {
        if (!Runs.Enabled && !RunDuration.Enabled)
        {
            return;
        }

        var tags = new TagList { { TagJobType, jobType }, { TagOutcome, outcome } };
        Runs.Add(1, tags);
        RunDuration.Record(Stopwatch.GetElapsedTime(startedTimestamp).TotalSeconds, tags);
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
        if (!Source.HasListeners())
        {
            return null;
        }

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
