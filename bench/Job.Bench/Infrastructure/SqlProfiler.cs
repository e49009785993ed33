using System.Collections.Concurrent;
using System.Diagnostics;
using Job.Storage;

namespace Job.Bench.Infrastructure;

/// <summary>
/// Times every database command of the process (Npgsql's ActivitySource) by statement, and the
/// runtime's claims (the "Job" ActivitySource: batch sizes). Listening costs a little, so the
/// headline runs go without it and one extra run is profiled.
/// </summary>
public sealed class SqlProfiler : IDisposable
{
    private static readonly global::Job.Storage.SqlStatement[] s_known =
    [
        global::Job.Storage.RuntimeSql.Claim, global::Job.Storage.RuntimeSql.Finish, global::Job.Storage.RuntimeSql.Promote, global::Job.Storage.ClientSql.Spawn,
        global::Job.Storage.RuntimeSql.Heartbeat, global::Job.Storage.RuntimeSql.PendingTypes,
    ];

    private readonly Dictionary<string, string> _byText;
    private readonly ConcurrentDictionary<string, Stat> _stats = new();
    private readonly ConcurrentQueue<int> _claimSizes = new();
    private readonly ConcurrentQueue<DateTime> _claimEnds = new();
    private readonly ConcurrentQueue<DateTime> _executeStarts = new();
    private readonly ActivityListener _listener;

    public SqlProfiler()
    {
        var database = new global::Job.Storage.JobDatabase(Npgsql.NpgsqlDataSource.Create("Host=localhost"), JobSchema.Default);
        _byText = s_known.ToDictionary(s => database.Text(s).Trim(), s => s.Name, StringComparer.Ordinal);
        _listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name is "Npgsql" or Telemetry.JobTelemetry.SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> o) =>
                o.Source.Name == "Npgsql" || o.Name is "job.claim" or "job.execute" ? ActivitySamplingResult.AllData : ActivitySamplingResult.None,
            ActivityStopped = OnStopped,
        };
        ActivitySource.AddActivityListener(_listener);
    }

    /// <summary>Per statement: count, total and percentiles of the command time (ms).</summary>
    public IReadOnlyDictionary<string, Stat> Statements => _stats;

    public IReadOnlyCollection<int> ClaimSizes => _claimSizes;

    /// <summary>Time from a claim statement's return to the start of each run it dispatched (ms):
    /// each run is matched with the latest claim that ended before it started.</summary>
    public Percentiles DispatchLag()
    {
        var ends = _claimEnds.Order().ToArray();
        var lags = new List<double>();
        foreach (var start in _executeStarts)
        {
            var i = Array.BinarySearch(ends, start);
            i = i >= 0 ? i : ~i - 1;
            if (i >= 0)
            {
                lags.Add((start - ends[i]).TotalMilliseconds);
            }
        }

        return Percentiles.Of(lags);
    }

    public void Reset()
    {
        _stats.Clear();
        _claimSizes.Clear();
        _claimEnds.Clear();
        _executeStarts.Clear();
    }

    private void OnStopped(Activity activity)
    {
        if (activity.Source.Name == "Npgsql")
        {
            var text = (activity.GetTagItem("db.query.text") ?? activity.GetTagItem("db.statement")) as string;
            var name = text is null ? "(unknown)" : _byText.GetValueOrDefault(text.Trim(), "other");
            _stats.GetOrAdd(name, _ => new Stat()).Add(activity.Duration.TotalMilliseconds);
        }
        else if (activity.OperationName == "job.execute")
        {
            _executeStarts.Enqueue(activity.StartTimeUtc);
            _stats.GetOrAdd("[job.execute span: init + run + complete, incl. pool wait]", _ => new Stat()).Add(activity.Duration.TotalMilliseconds);
        }
        else if (activity.GetTagItem("job.claim.count") is int count)
        {
            _claimSizes.Enqueue(count);
            _claimEnds.Enqueue(activity.StartTimeUtc + activity.Duration);
        }
    }

    public void Dispose() => _listener.Dispose();

    /// <summary>Durations of one statement.</summary>
    public sealed class Stat
    {
        private readonly ConcurrentQueue<double> _ms = new();

        public int Count => _ms.Count;

        public double TotalMs => _ms.Sum();

        public Percentiles Percentiles => Percentiles.Of(_ms);

        public void Add(double ms) => _ms.Enqueue(ms);
    }
}
