using System.Diagnostics.Metrics;
using Job.Execution;
using Job.Hosting;
using Job.Telemetry;
using Microsoft.Extensions.Logging;

namespace Job.Maintenance;

/// <summary>
/// Feeds the <c>job.queue.depth</c> gauge (live jobs by type and state) from one grouped count,
/// taken at most every <see cref="Refresh"/> and only while something observes the gauge, so an
/// exporter's scrape never waits on the database and an unobserved silo never counts. Every silo
/// reports the same cluster-wide numbers: aggregate with max, not sum. Once counted, every state of
/// the job types this silo registers is reported, as 0 when no job is in it, so an empty queue reads 0
/// on a dashboard rather than "no data".
/// </summary>
internal sealed partial class QueueDepthGauge(JobRuntime runtime, JobRegistry registry, ILogger<QueueDepthGauge> logger) : IDisposable
{
    internal static readonly TimeSpan Refresh = TimeSpan.FromSeconds(15);

    /// <summary>The states of a live job (<c>job_executions.state</c>).</summary>
    internal static readonly string[] States = ["scheduled", "pending", "parked", "running"];

    private readonly Lock _gate = new();
    private IReadOnlyList<(string JobType, string State, long Count)> _last = [];
    private DateTime _countedAt = DateTime.MinValue;
    private bool _counting;
    private IDisposable? _registration;

    public void Start() => _registration = JobTelemetry.ObserveQueueDepth(Observe);

    private IEnumerable<Measurement<long>> Observe()
    {
        lock (_gate)
        {
            if (!_counting && DateTime.UtcNow - _countedAt >= Refresh)
            {
                _counting = true;
                _ = CountAsync();
            }

            return _last.Select(d => new Measurement<long>(d.Count,
                new KeyValuePair<string, object?>(JobTelemetry.TagJobType, d.JobType),
                new KeyValuePair<string, object?>(JobTelemetry.TagState, d.State))).ToList();
        }
    }

    private async Task CountAsync()
    {
        try
        {
            var depth = await runtime.Maintenance.QueueDepthAsync(CancellationToken.None).ConfigureAwait(false);
            var counted = depth.Select(d => (d.JobType, d.State)).ToHashSet();
            var zeros = registry.TypeNames.SelectMany(type => States.Select(state => (JobType: type, State: state, Count: 0L)))
                .Where(z => !counted.Contains((z.JobType, z.State)));
            lock (_gate)
            {
                _last = [.. depth, .. zeros];
            }
        }
        catch (Exception ex)
        {
            LogCountFailed(ex);
        }
        finally
        {
            lock (_gate)
            {
                _countedAt = DateTime.UtcNow;
                _counting = false;
            }
        }
    }

    public void Dispose() => _registration?.Dispose();

    [LoggerMessage(Level = LogLevel.Warning, Message = "Counting the queue for the job.queue.depth gauge failed; the last count is reported.")]
    private partial void LogCountFailed(Exception exception);
}
