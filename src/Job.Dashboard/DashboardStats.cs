using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Job.Dashboard;

/// <summary>One point of the overview's charts: what happened in the interval that ends at <see cref="At"/>.</summary>
internal sealed record StatsPoint(DateTimeOffset At, TimeSpan Interval, long Completed, long Errored, long Cancelled, long Pending, long Scheduled, long Running, TimeSpan Lag);

/// <summary>The counts every page reads, taken at most once per refresh interval for all viewers together,
/// with the types an operator paused.</summary>
internal sealed record StatsSnapshot(JobCounts Counts, IReadOnlyList<StatsPoint> History, IReadOnlyDictionary<string, double> CompletedPerMinuteByType, TimeSpan TakenIn)
{
    public IReadOnlyList<string> PausedTypes { get; init; } = [];
}

/// <summary>
/// Takes the counts the pages show, in the background, while someone looks: live jobs by a scan of
/// the live table (which holds only waiting and running jobs), finished jobs in full once per
/// <see cref="JobDashboardOptions.FullCountInterval"/> and otherwise only those finished since the
/// last count (an index range as long as the interval's jobs). So a page never counts a million
/// rows itself, and many viewers cost what one does. Throughput and failures per interval are the
/// increments; queue depth and the oldest due job's lag are read at each count. History lives in
/// memory, for <see cref="JobDashboardOptions.ChartWindow"/>.
/// </summary>
internal sealed partial class DashboardStats(IServiceProvider services, IOptions<JobDashboardOptions> options, TimeProvider time, ILogger<DashboardStats> logger)
    : BackgroundService
{
    private readonly Lock _gate = new();
    private readonly List<StatsPoint> _history = [];
    private readonly List<(DateTimeOffset At, Dictionary<string, long> Completed)> _byType = [];
    private readonly SemaphoreSlim _wake = new(0);
    private TaskCompletionSource<StatsSnapshot> _first = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource _recount = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _generation;
    private bool _fullNext;
    private Dictionary<(string, JobStatus), long>? _finished;
    private DateTimeOffset? _watermark;
    private long _lastFullTicks;
    private long _lastViewedTicks;
    private StatsSnapshot? _latest;

    private JobDashboardOptions Options => options.Value;

    /// <summary>The latest counts; the first call after a quiet spell waits for a fresh count.</summary>
    public async Task<StatsSnapshot> GetAsync(CancellationToken ct)
    {
        var previous = Interlocked.Exchange(ref _lastViewedTicks, time.GetTimestamp());
        var wasIdle = previous == 0 || time.GetElapsedTime(previous) > Options.IdleAfter;
        StatsSnapshot? latest;
        Task<StatsSnapshot> first;
        lock (_gate)
        {
            latest = _latest;
            first = _first.Task;
        }

        if (wasIdle || latest is null)
        {
            _wake.Release();
        }

        if (latest is not null)
        {
            return latest;
        }

        return await first.WaitAsync(TimeSpan.FromSeconds(30), ct).ConfigureAwait(false);
    }

    /// <summary>
    /// An operator action changed jobs (retried, cancelled, deleted them): counts taken before it are
    /// dropped, the next count is a full one, taken at once, and the next page waits for it. Otherwise
    /// finished jobs that went back to waiting, or were deleted, would stay counted until the next full
    /// count, and the numbers would disagree with the action's own notice for up to a minute.
    /// </summary>
    public void Recount()
    {
        lock (_gate)
        {
            _generation++;
            _fullNext = true;
            _latest = null;
            if (_first.Task.IsCompleted)
            {
                _first = new TaskCompletionSource<StatsSnapshot>(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            _recount.TrySetResult();
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var admin = services.GetRequiredService<JobAdmin>();
        var flow = services.GetRequiredService<JobFlowControl>();
        while (!stoppingToken.IsCancellationRequested)
        {
            var viewed = Volatile.Read(ref _lastViewedTicks);
            if (viewed == 0 || time.GetElapsedTime(viewed) > Options.IdleAfter)
            {
                // Nobody looks: count nothing until someone does, and start the charts afresh then.
                lock (_gate)
                {
                    _watermark = null;
                    _finished = null;
                    if (_first.Task.IsCompleted)
                    {
                        _first = new TaskCompletionSource<StatsSnapshot>(TaskCreationOptions.RunContinuationsAsynchronously);
                    }

                    _latest = null;
                }

                await _wake.WaitAsync(stoppingToken).ConfigureAwait(false);
                continue;
            }

            long generation;
            Task recount;
            lock (_gate)
            {
                generation = _generation;
                if (_recount.Task.IsCompleted)
                {
                    _recount = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                }

                recount = _recount.Task;
            }

            try
            {
                var snapshot = await TakeAsync(admin, stoppingToken).ConfigureAwait(false);
                var paused = (await flow.ListAsync(stoppingToken).ConfigureAwait(false)).Where(t => t.Paused).Select(t => t.JobType.Name).Order(StringComparer.Ordinal);
                snapshot = snapshot with { PausedTypes = [.. paused] };
                TaskCompletionSource<StatsSnapshot>? first = null;
                lock (_gate)
                {
                    if (generation == _generation)
                    {
                        _latest = snapshot;
                        first = _first;
                    }
                }

                first?.TrySetResult(snapshot); // a count an action overtook is not shown: the next one is taken at once
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                LogCountFailed(logger, ex);
            }

            try
            {
                using var delay = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                await Task.WhenAny(Task.Delay(Options.RefreshInterval, time, delay.Token), recount).ConfigureAwait(false);
                await delay.CancelAsync().ConfigureAwait(false);
                stoppingToken.ThrowIfCancellationRequested();
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task<StatsSnapshot> TakeAsync(JobAdmin admin, CancellationToken ct)
    {
        var started = time.GetTimestamp();
        var live = await admin.CountLiveAsync(ct).ConfigureAwait(false);
        long completed = 0, errored = 0, cancelled = 0;
        var completedByType = new Dictionary<string, long>(StringComparer.Ordinal);
        bool fullNext;
        lock (_gate)
        {
            fullNext = _fullNext;
            _fullNext = false;
        }

        var full = fullNext || _finished is null || time.GetElapsedTime(_lastFullTicks) >= Options.FullCountInterval;
        if (full)
        {
            var (counts, latest) = await admin.CountFinishedAsync(null, ct).ConfigureAwait(false);
            var fresh = counts.ToDictionary(c => (c.JobType, c.State), c => c.Count);
            if (_finished is not null)
            {
                // What finished since the last count, as the difference of the totals (deletes can make it negative: none then).
                foreach (var ((type, state), n) in fresh)
                {
                    var delta = Math.Max(0, n - _finished.GetValueOrDefault((type, state)));
                    Add(state, type, delta, ref completed, ref errored, ref cancelled, completedByType);
                }
            }

            _finished = fresh;
            _watermark = latest ?? _watermark;
            _lastFullTicks = time.GetTimestamp();
        }
        else
        {
            var (counts, latest) = await admin.CountFinishedAsync(_watermark ?? DateTimeOffset.MinValue, ct).ConfigureAwait(false);
            foreach (var c in counts)
            {
                _finished![(c.JobType, c.State)] = _finished.GetValueOrDefault((c.JobType, c.State)) + c.Count;
                Add(c.State, c.JobType, c.Count, ref completed, ref errored, ref cancelled, completedByType);
            }

            if (latest is { } l && (_watermark is null || l > _watermark))
            {
                _watermark = l;
            }
        }

        var all = new JobCounts
        {
            At = live.At,
            OldestDueAt = live.OldestDueAt,
            OldestDueByType = live.OldestDueByType,
            ByTypeAndState = [.. live.ByTypeAndState, .. _finished!.Where(f => f.Value > 0).Select(f => new JobStateCount(f.Key.Item1, f.Key.Item2, f.Value))],
        };
        var point = new StatsPoint(live.At, Options.RefreshInterval, completed, errored, cancelled,
            live.Total(JobStatus.Pending), live.Total(JobStatus.Scheduled), live.Total(JobStatus.Running), live.OldestDueLag);
        lock (_gate)
        {
            var interval = _history.Count == 0 ? Options.RefreshInterval : point.At - _history[^1].At;
            _history.Add(point with { Interval = interval > TimeSpan.Zero ? interval : Options.RefreshInterval });
            _byType.Add((point.At, completedByType));
            var horizon = point.At - Options.ChartWindow;
            _history.RemoveAll(p => p.At < horizon);
            _byType.RemoveAll(p => p.At < point.At - TimeSpan.FromMinutes(5));
            var span = _byType.Count < 2 ? Options.RefreshInterval : _byType[^1].At - _byType[0].At + Options.RefreshInterval;
            var perMinute = _byType.SelectMany(b => b.Completed)
                .GroupBy(kv => kv.Key, StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => g.Sum(kv => kv.Value) / Math.Max(span.TotalMinutes, 1e-9), StringComparer.Ordinal);
            // The first point after a full count at start has no increment: leave it out of the rates.
            return new StatsSnapshot(all, [.. _history], perMinute, time.GetElapsedTime(started));
        }
    }

    private static void Add(JobStatus state, string type, long n, ref long completed, ref long errored, ref long cancelled, Dictionary<string, long> completedByType)
    {
        switch (state)
        {
            case JobStatus.Completed:
                completed += n;
                completedByType[type] = completedByType.GetValueOrDefault(type) + n;
                break;
            case JobStatus.Errored:
                errored += n;
                break;
            case JobStatus.Cancelled:
                cancelled += n;
                break;
        }
    }

    public override void Dispose()
    {
        _wake.Dispose();
        base.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The dashboard could not count jobs; it tries again at the next refresh.")]
    private static partial void LogCountFailed(ILogger logger, Exception exception);
}
