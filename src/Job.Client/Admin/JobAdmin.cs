using System.Globalization;
using Job.Client;
using Job.Storage;
using Npgsql;

namespace Job;

/// <summary>
/// What an operator does to jobs, over the database alone (no silo needed), for the dashboard, the
/// CLI and applications: list and search, inspect, count, retry now, cancel (a running job too),
/// delete finished jobs, the same in bulk for a filter, and pause or resume a type. Each operation is
/// one transaction that also records itself: in the job's history (<see cref="JobEvent.Actor"/>)
/// and in the admin record (<see cref="RecentActionsAsync"/>), which outlives a deleted job. A job in
/// the wrong state for an operation is refused with <see cref="JobStateConflictException"/>. Get it
/// from <see cref="JobClient.Admin"/>, from DI (<c>AddJobClient</c> and <c>AddJobs</c> register it), from
/// <c>Jobs.Admin</c>, or through <see cref="IJobAdminGrain"/> from an Orleans client. Thread-safe.
/// </summary>
/// <remarks>
/// The attempt counter on retry: a job that ended errored or cancelled runs again from attempt 1
/// with its full retry budget (the operator starts a new series; the history keeps the old one); a
/// job that waits (scheduled, pending, or parked in a serial queue) becomes due now and keeps its
/// attempt number: the attempt it waited to run runs now. A running or completed job cannot be retried.
/// </remarks>
public sealed class JobAdmin
{
    /// <summary>The most jobs one bulk operation changes; run it again for the rest (<see cref="JobBulkResult.More"/>).</summary>
    public const int MaxBulk = 10_000;

    private readonly JobContext _context;
    private readonly JobFlowControl _flowControl;
    private readonly JobAdminStore _store;

    internal JobAdmin(JobContext context, JobFlowControl flowControl)
    {
        _context = context;
        _flowControl = flowControl;
        _store = new JobAdminStore(context.Database);
    }

    /// <summary>One page of jobs matching the query's filter, in its order, with keyset paging: a
    /// page costs an index range whatever its depth, also on millions of finished jobs.</summary>
    /// <exception cref="ArgumentException">A page size out of range, a malformed cursor or id prefix, or an
    /// order the state does not have (finished states order by finish time; every state by creation).</exception>
    public async Task<JobListPage> ListAsync(JobListQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        if (query.PageSize is < 1 or > JobListQuery.MaxPageSize)
        {
            throw new ArgumentException($"A page holds 1 to {JobListQuery.MaxPageSize} jobs (asked for {query.PageSize}).", nameof(query));
        }

        var plan = _store.Plan(query.Filter ?? JobFilter.All, query.Sort, query.Descending, query.PageSize + 1, ParseCursor(query.Cursor));
        await using var connection = await _context.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var rows = await _store.ListAsync(connection, null, plan, cancellationToken).ConfigureAwait(false);
        var more = rows.Count > query.PageSize;
        if (more)
        {
            rows.RemoveAt(rows.Count - 1);
        }

        return new JobListPage
        {
            Jobs = rows.Select(r => r.Job).ToList(),
            NextCursor = more ? Cursor(rows[^1].SortAt, rows[^1].Job.Id) : null,
            Sort = plan.Sort,
        };
    }

    /// <summary>How many jobs <paramref name="filter"/> matches, counted up to <paramref name="limit"/>: what
    /// <see cref="RetryAllAsync"/>, <see cref="CancelAllAsync"/> or <see cref="DeleteAllAsync"/> would take
    /// (they skip the jobs whose state does not allow them), so that a confirmation can say how many. It
    /// reads at most one more row than the limit, along the index the list of the same filter uses.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A limit below 1 or above <see cref="MaxBulk"/>.</exception>
    /// <exception cref="ArgumentException">A filter the list refuses (a time range without a state).</exception>
    public async Task<JobMatchCount> CountMatchingAsync(JobFilter filter, int limit = MaxBulk, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(limit, MaxBulk);
        var plan = _store.Plan(filter, JobSort.Default, descending: false, limit + 1, after: null);
        var counted = await _store.CountAsync(plan, cancellationToken).ConfigureAwait(false);
        return new JobMatchCount { Count = (int)Math.Min(counted, limit), More = counted > limit };
    }

    /// <summary>One job with its whole history, execution state, trace and the silo that runs it.</summary>
    /// <exception cref="JobNotFoundException">No job has this id.</exception>
    public async Task<JobDetails> GetAsync(JobId id, CancellationToken cancellationToken = default)
    {
        var stored = await _context.Reads.FindAsync(id, cancellationToken).ConfigureAwait(false) ?? throw new JobNotFoundException(id);
        var events = await _context.Reads.EventsAsync(id, cancellationToken).ConfigureAwait(false);
        return await DetailsAsync(stored, events, events.Count, false, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>One job with a window of its history (<paramref name="history"/>): what a page shows of a
    /// job whose history is long. The window's cost is an index range of its events, whatever the
    /// history's length, plus counting the history (<see cref="JobDetails.HistoryTotal"/>).</summary>
    /// <exception cref="ArgumentException">A window of fewer than 1 or more than <see cref="JobHistoryWindow.MaxLimit"/> events, or before an event number below 1.</exception>
    /// <exception cref="JobNotFoundException">No job has this id.</exception>
    public async Task<JobDetails> GetAsync(JobId id, JobHistoryWindow history, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(history);
        if (history.Limit is < 1 or > JobHistoryWindow.MaxLimit)
        {
            throw new ArgumentException($"A history window holds 1 to {JobHistoryWindow.MaxLimit} events (asked for {history.Limit}).", nameof(history));
        }

        if (history.Before is < 1)
        {
            throw new ArgumentException($"Events are numbered from 1; a window cannot end before event {history.Before}.", nameof(history));
        }

        var stored = await _context.Reads.FindAsync(id, cancellationToken).ConfigureAwait(false) ?? throw new JobNotFoundException(id);
        var (events, earlier, total) = await _context.Reads.EventsWindowAsync(id, history.Before, history.Limit, cancellationToken).ConfigureAwait(false);
        return await DetailsAsync(stored, events, total, earlier, cancellationToken).ConfigureAwait(false);
    }

    private async Task<JobDetails> DetailsAsync(StoredJob stored, IReadOnlyList<JobEvent> events, long total, bool earlier, CancellationToken cancellationToken)
    {
        var id = stored.Id;
        var extras = await _store.ExtrasAsync(id, cancellationToken).ConfigureAwait(false) ?? throw new JobNotFoundException(id);
        return new JobDetails
        {
            Snapshot = stored.ToSnapshot(),
            Parked = extras.LiveState == "parked",
            Priority = extras.Priority,
            TraceParent = extras.TraceParent,
            ExecutionStateJson = extras.ExecutionStateJson,
            ClaimedBy = extras.ClaimedBy,
            StartedAt = extras.StartedAt,
            CancelRequestedAt = extras.CancelRequestedAt,
            AliveAt = extras.AliveAt,
            Unique = extras.Unique,
            History = events,
            HistoryTotal = total,
            EarlierHistory = earlier,
        };
    }

    /// <summary>
    /// Exact counts by state and type, and the oldest due job. It reads every job (finished ones from
    /// an index), so it costs time in proportion to the table: a screen that refreshes often counts
    /// the live jobs and the increments of finished ones instead (<see cref="CountLiveAsync"/>,
    /// <see cref="CountFinishedAsync"/>), as the dashboard does.
    /// </summary>
    public async Task<JobCounts> CountAsync(CancellationToken cancellationToken = default)
    {
        var now = _context.Clock.Now;
        var live = await CountLiveAsync(cancellationToken).ConfigureAwait(false);
        var finished = await CountFinishedAsync(null, cancellationToken).ConfigureAwait(false);
        return new JobCounts { At = now, ByTypeAndState = [.. live.ByTypeAndState, .. finished.Counts], OldestDueAt = live.OldestDueAt, OldestDueByType = live.OldestDueByType };
    }

    /// <summary>Live jobs (pending, scheduled, running) by type, and the oldest due job: one scan of
    /// the live table, which holds only jobs that wait or run.</summary>
    public async Task<JobCounts> CountLiveAsync(CancellationToken cancellationToken = default)
    {
        var now = _context.Clock.Now;
        var (counts, oldest) = await _store.LiveCountsAsync(cancellationToken).ConfigureAwait(false);
        return new JobCounts { At = now, ByTypeAndState = counts, OldestDueAt = oldest.Count == 0 ? null : oldest.Values.Min(), OldestDueByType = oldest };
    }

    /// <summary>
    /// Finished jobs by type and state: all of them (<paramref name="finishedAfter"/> null), or those
    /// that finished after <paramref name="finishedAfter"/> (an index range as long as the interval's
    /// jobs), with the latest finish time seen, to pass as the next call's <paramref name="finishedAfter"/>.
    /// </summary>
    public async Task<(IReadOnlyList<JobStateCount> Counts, DateTimeOffset? LatestFinishedAt)> CountFinishedAsync(DateTimeOffset? finishedAfter, CancellationToken cancellationToken = default)
    {
        var (counts, latest) = await _store.FinishedCountsAsync(finishedAfter, cancellationToken).ConfigureAwait(false);
        return (counts, latest);
    }

    /// <summary>
    /// Retries the job now (see the attempt rule in the remarks of <see cref="JobAdmin"/>): an errored
    /// or cancelled job runs again from attempt 1; a waiting one becomes due now. Recorded as a
    /// <c>retried</c> event with <paramref name="actor"/>.
    /// </summary>
    /// <param name="id">The job.</param>
    /// <param name="actor">Who asks (an operator's name, a tool's), kept in the history; at most 256 characters.</param>
    /// <param name="cancellationToken">Cancels the call (the transaction then rolls back).</param>
    /// <exception cref="JobNotFoundException">No job has this id.</exception>
    /// <exception cref="JobStateConflictException">The job runs or completed.</exception>
    public async Task RetryAsync(JobId id, string? actor = null, CancellationToken cancellationToken = default) =>
        await SingleAsync(ClientSql.AdminRetry, "retry", id, actor, cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// Cancels the job: one that waits ends cancelled at once; a running one is asked to stop (its
    /// runner's token fires and it ends cancelled when the run returns; a run that ignores its token
    /// is cut off after the silo's shutdown timeout, and its late writes are refused).
    /// </summary>
    /// <exception cref="JobNotFoundException">No job has this id.</exception>
    /// <exception cref="JobStateConflictException">The job already finished.</exception>
    public async Task<JobCancelOutcome> CancelAsync(JobId id, string? actor = null, CancellationToken cancellationToken = default)
    {
        var outcome = await SingleAsync(ClientSql.AdminCancel, "cancel", id, actor, cancellationToken).ConfigureAwait(false);
        return outcome.Code == JobAdminStore.Outcome.Requested ? JobCancelOutcome.CancelRequested : JobCancelOutcome.Cancelled;
    }

    /// <summary>Deletes a finished job and its history. The admin record keeps that it happened, by
    /// whom and when (<see cref="RecentActionsAsync"/>).</summary>
    /// <exception cref="JobNotFoundException">No job has this id.</exception>
    /// <exception cref="JobStateConflictException">The job is live (waits or runs): cancel it first.</exception>
    public async Task DeleteAsync(JobId id, string? actor = null, CancellationToken cancellationToken = default) =>
        await SingleAsync(ClientSql.AdminDelete, "delete", id, actor, cancellationToken).ConfigureAwait(false);

    /// <summary>Retries the selected jobs; those in a state that cannot be retried are skipped. One transaction.</summary>
    /// <exception cref="ArgumentException">More than <see cref="MaxBulk"/> ids.</exception>
    public Task<JobBulkResult> RetryAsync(IReadOnlyCollection<JobId> ids, string? actor = null, CancellationToken cancellationToken = default) =>
        BulkAsync(ClientSql.AdminRetry, "retry-selected", ids, null, actor, cancellationToken);

    /// <summary>Cancels the selected jobs; finished ones are skipped. One transaction.</summary>
    /// <exception cref="ArgumentException">More than <see cref="MaxBulk"/> ids.</exception>
    public Task<JobBulkResult> CancelAsync(IReadOnlyCollection<JobId> ids, string? actor = null, CancellationToken cancellationToken = default) =>
        BulkAsync(ClientSql.AdminCancel, "cancel-selected", ids, null, actor, cancellationToken);

    /// <summary>Deletes the selected finished jobs with their history; live ones are skipped. One transaction.</summary>
    /// <exception cref="ArgumentException">More than <see cref="MaxBulk"/> ids.</exception>
    public Task<JobBulkResult> DeleteAsync(IReadOnlyCollection<JobId> ids, string? actor = null, CancellationToken cancellationToken = default) =>
        BulkAsync(ClientSql.AdminDelete, "delete-selected", ids, null, actor, cancellationToken);

    /// <summary>Retries up to <paramref name="limit"/> jobs that <paramref name="filter"/> matches (found and
    /// retried in one transaction); jobs that cannot be retried are skipped.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A limit below 1 or above <see cref="MaxBulk"/>.</exception>
    public Task<JobBulkResult> RetryAllAsync(JobFilter filter, string? actor = null, int limit = MaxBulk, CancellationToken cancellationToken = default) =>
        FilterAsync(ClientSql.AdminRetry, "retry-filter", filter, actor, limit, cancellationToken);

    /// <summary>Cancels up to <paramref name="limit"/> jobs that <paramref name="filter"/> matches; finished ones are skipped.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A limit below 1 or above <see cref="MaxBulk"/>.</exception>
    public Task<JobBulkResult> CancelAllAsync(JobFilter filter, string? actor = null, int limit = MaxBulk, CancellationToken cancellationToken = default) =>
        FilterAsync(ClientSql.AdminCancel, "cancel-filter", filter, actor, limit, cancellationToken);

    /// <summary>Deletes up to <paramref name="limit"/> finished jobs that <paramref name="filter"/> matches, with their history.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A limit below 1 or above <see cref="MaxBulk"/>.</exception>
    public Task<JobBulkResult> DeleteAllAsync(JobFilter filter, string? actor = null, int limit = MaxBulk, CancellationToken cancellationToken = default) =>
        FilterAsync(ClientSql.AdminDelete, "delete-filter", filter, actor, limit, cancellationToken);

    /// <summary>Pauses the type cluster-wide (through <see cref="JobFlowControl"/>): no silo claims its
    /// jobs until resumed; running ones finish. Persisted; recorded with <paramref name="actor"/>.</summary>
    public Task<JobTypeSettings> PauseAsync(JobType jobType, string? actor = null, CancellationToken cancellationToken = default) =>
        SetPausedAsync(jobType, paused: true, actor, cancellationToken);

    /// <summary>Lets the silos claim the type's jobs again.</summary>
    public Task<JobTypeSettings> ResumeAsync(JobType jobType, string? actor = null, CancellationToken cancellationToken = default) =>
        SetPausedAsync(jobType, paused: false, actor, cancellationToken);

    /// <summary>The flow-control settings of every type that has any (paused, limits).</summary>
    public Task<IReadOnlyList<JobTypeSettings>> TypeSettingsAsync(CancellationToken cancellationToken = default) =>
        _flowControl.ListAsync(cancellationToken);

    /// <summary>The silos Orleans membership lists (every cluster on this database), with the jobs each runs.</summary>
    public async Task<IReadOnlyList<JobSiloInfo>> SilosAsync(CancellationToken cancellationToken = default) =>
        await _store.SilosAsync(cancellationToken).ConfigureAwait(false);

    /// <summary>The latest recorded admin operations, newest first.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A limit below 1 or above 1,000.</exception>
    public async Task<IReadOnlyList<JobAdminAction>> RecentActionsAsync(int limit = 50, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(limit, 1000);
        return await _store.ActionsAsync(limit, cancellationToken).ConfigureAwait(false);
    }

    private async Task<JobAdminStore.Outcome> SingleAsync(SqlStatement statement, string operation, JobId id, string? actor, CancellationToken ct)
    {
        CheckActor(actor);
        var now = _context.Clock.Now;
        await using var connection = await _context.DataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var tx = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);
        var type = await _store.JobTypeAsync(connection, tx, id, ct).ConfigureAwait(false) ?? throw new JobNotFoundException(id);
        var outcome = (await _store.RunAsync(connection, tx, statement, [id], Reason(operation, actor), actor, now, ct).ConfigureAwait(false)).Single();
        switch (outcome.Code)
        {
            case JobAdminStore.Outcome.Missing:
                throw new JobNotFoundException(id);
            case JobAdminStore.Outcome.WrongState:
                throw new JobStateConflictException(id, operation, outcome.State ?? "unknown");
        }

        await _store.RecordAsync(connection, tx, operation, id, type, null, 1, actor, now, ct).ConfigureAwait(false);
        await tx.CommitAsync(ct).ConfigureAwait(false);
        return outcome;
    }

    private async Task<JobBulkResult> BulkAsync(SqlStatement statement, string action, IReadOnlyCollection<JobId> ids, string? detail, string? actor, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(ids);
        CheckActor(actor);
        if (ids.Count > MaxBulk)
        {
            throw new ArgumentException($"One bulk operation takes at most {MaxBulk:N0} jobs (given {ids.Count:N0}).", nameof(ids));
        }

        var now = _context.Clock.Now;
        await using var connection = await _context.DataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var tx = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);
        var result = await ApplyAsync(connection, tx, statement, action, ids, detail ?? $"{ids.Count} selected", actor, now, ct).ConfigureAwait(false);
        await tx.CommitAsync(ct).ConfigureAwait(false);
        return result;
    }

    private async Task<JobBulkResult> FilterAsync(SqlStatement statement, string action, JobFilter filter, string? actor, int limit, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(filter);
        CheckActor(actor);
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(limit, MaxBulk);
        var plan = _store.Plan(filter, JobSort.Default, descending: false, limit + 1, after: null);
        var now = _context.Clock.Now;
        await using var connection = await _context.DataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var tx = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);
        var rows = await _store.ListAsync(connection, tx, plan, ct).ConfigureAwait(false);
        var more = rows.Count > limit;
        var ids = rows.Take(limit).Select(r => r.Job.Id).ToList();
        var result = await ApplyAsync(connection, tx, statement, action, ids, Describe(filter), actor, now, ct).ConfigureAwait(false);
        await tx.CommitAsync(ct).ConfigureAwait(false);
        return result with { More = more };
    }

    private async Task<JobBulkResult> ApplyAsync(NpgsqlConnection connection, NpgsqlTransaction tx, SqlStatement statement, string action,
        IReadOnlyCollection<JobId> ids, string detail, string? actor, DateTimeOffset now, CancellationToken ct)
    {
        var outcomes = ids.Count == 0 ? [] : await _store.RunAsync(connection, tx, statement, ids, Reason(action, actor), actor, now, ct).ConfigureAwait(false);
        var changed = outcomes.Count(o => o.Code is JobAdminStore.Outcome.Done or JobAdminStore.Outcome.Requested);
        await _store.RecordAsync(connection, tx, action, null, null, detail, changed, actor, now, ct).ConfigureAwait(false);
        return new JobBulkResult
        {
            Matched = outcomes.Count,
            Changed = changed,
            Skipped = outcomes.Count(o => o.Code == JobAdminStore.Outcome.WrongState),
            Missing = outcomes.Count(o => o.Code == JobAdminStore.Outcome.Missing),
        };
    }

    private async Task<JobTypeSettings> SetPausedAsync(JobType jobType, bool paused, string? actor, CancellationToken ct)
    {
        CheckActor(actor);
        var now = _context.Clock.Now;
        await using var connection = await _context.DataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var tx = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);
        var settings = await _flowControl.SetPausedAsync(connection, tx, jobType, paused, actor, ct).ConfigureAwait(false);
        await _store.RecordAsync(connection, tx, paused ? "pause" : "resume", null, jobType.Name, null, 0, actor, now, ct).ConfigureAwait(false);
        await tx.CommitAsync(ct).ConfigureAwait(false);
        return settings;
    }

    private static string Reason(string operation, string? actor)
    {
        var verb = operation.Split('-')[0] switch
        {
            "retry" => "retried",
            "cancel" => "cancelled",
            _ => "deleted",
        };
        return actor is null ? $"{verb} by an operator" : $"{verb} by {actor}";
    }

    private static void CheckActor(string? actor)
    {
        if (actor is { Length: > 256 })
        {
            throw new ArgumentException("Who acts is at most 256 characters.", nameof(actor));
        }
    }

    /// <summary>A filter in words, for the admin record.</summary>
    internal static string Describe(JobFilter filter)
    {
        var parts = new List<string>();
        if (filter.State is { } state)
        {
            parts.Add($"state={JobStateNames.Name(state)}");
        }

        if (filter.JobType is { } type)
        {
            parts.Add($"type={type}");
        }

        if (filter.QueueId is { } queue)
        {
            parts.Add($"queue={queue}");
        }

        if (filter.IdPrefix is { } prefix)
        {
            parts.Add($"id={prefix}*");
        }

        if (filter.From is { } from)
        {
            parts.Add($"from={from.UtcDateTime:O}");
        }

        if (filter.To is { } to)
        {
            parts.Add($"to={to.UtcDateTime:O}");
        }

        return parts.Count == 0 ? "all jobs" : string.Join(' ', parts);
    }

    private static string Cursor(DateTimeOffset at, JobId id) =>
        string.Create(CultureInfo.InvariantCulture, $"{at.UtcTicks}_{id.Value:N}");

    private static (DateTimeOffset, Guid)? ParseCursor(string? cursor)
    {
        if (cursor is null)
        {
            return null;
        }

        var parts = cursor.Split('_');
        if (parts.Length == 2
            && long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var ticks)
            && ticks >= DateTimeOffset.MinValue.UtcTicks && ticks <= DateTimeOffset.MaxValue.UtcTicks
            && Guid.TryParseExact(parts[1], "N", out var id))
        {
            return (new DateTimeOffset(ticks, TimeSpan.Zero), id);
        }

        throw new ArgumentException("The cursor is not one a job list returned.", nameof(cursor));
    }
}
