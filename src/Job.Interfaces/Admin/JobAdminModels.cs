namespace Job;

/// <summary>
/// Which jobs an admin operation or a list means. Every field narrows; an empty filter means every
/// job. Shared by lists, counts and the bulk operations, so an operator who looked at a list acts on
/// exactly what the list showed.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record JobFilter
{
    /// <summary>Only jobs in this state (<see cref="JobStatus.Pending"/> includes jobs parked in a
    /// serial queue); null: every state.</summary>
    [Id(0)] public JobStatus? State { get; init; }

    /// <summary>Only jobs of this type.</summary>
    [Id(1)] public string? JobType { get; init; }

    /// <summary>Only jobs of this serial queue.</summary>
    [Id(2)] public string? QueueId { get; init; }

    /// <summary>Only jobs whose id starts with these hexadecimal digits (dashes are ignored), as an
    /// operator copies an id from a log line; up to 32 digits.</summary>
    [Id(3)] public string? IdPrefix { get; init; }

    /// <summary>Only jobs whose list time is at or after this: the finish time of finished states, the due
    /// (or creation) time of live ones. A list of every state takes no time range (it is in id order).</summary>
    [Id(4)] public DateTimeOffset? From { get; init; }

    /// <summary>Only jobs whose list time is before this.</summary>
    [Id(5)] public DateTimeOffset? To { get; init; }

    /// <summary>The filter that matches every job.</summary>
    public static JobFilter All { get; } = new();
}

/// <summary>
/// The order of a job list. Each order is an index range on the big tables (migration 0008), so a
/// page costs the same on page 1 and page 10,000: finished states list by finish time, waiting and
/// running states by due time or creation, "every state" by id, which is creation order for the
/// time-ordered ids of <c>JobId.New()</c>.
/// </summary>
public enum JobSort
{
    /// <summary>The natural order of the state: finish time for finished states, due time for waiting
    /// and running ones, creation time for every state.</summary>
    Default = 0,

    /// <summary>By creation: creation time for a waiting or running state, id order for every state.</summary>
    CreatedAt = 1,

    /// <summary>By due time (waiting and running states only).</summary>
    DueAt = 2,

    /// <summary>By finish time (finished states only).</summary>
    FinishedAt = 3,
}

/// <summary>One page request of a job list: a filter, an order and a keyset cursor.</summary>
[GenerateSerializer, Immutable]
public sealed record JobListQuery
{
    /// <summary>The largest page.</summary>
    public const int MaxPageSize = 500;

    /// <summary>Which jobs.</summary>
    [Id(0)] public JobFilter Filter { get; init; } = JobFilter.All;

    /// <summary>The order; <see cref="JobSort.Default"/> picks the state's natural one.</summary>
    [Id(1)] public JobSort Sort { get; init; }

    /// <summary>Newest (or latest due) first when true, the default.</summary>
    [Id(2)] public bool Descending { get; init; } = true;

    /// <summary>Rows per page, 1 to <see cref="MaxPageSize"/>. Default 50.</summary>
    [Id(3)] public int PageSize { get; init; } = 50;

    /// <summary>The <see cref="JobListPage.NextCursor"/> of the previous page; null for the first page.</summary>
    [Id(4)] public string? Cursor { get; init; }
}

/// <summary>One page of a job list.</summary>
[GenerateSerializer, Immutable]
public sealed record JobListPage
{
    /// <summary>The jobs, in the query's order.</summary>
    [Id(0)] public required IReadOnlyList<JobSummary> Jobs { get; init; }

    /// <summary>Pass it as <see cref="JobListQuery.Cursor"/> for the next page; null on the last page.</summary>
    [Id(1)] public string? NextCursor { get; init; }

    /// <summary>The order the page was listed in (the natural one resolved).</summary>
    [Id(2)] public JobSort Sort { get; init; }
}

/// <summary>A job as a list shows it.</summary>
[GenerateSerializer, Immutable]
public sealed record JobSummary
{
    /// <summary>The job.</summary>
    [Id(0)] public required JobId Id { get; init; }
    /// <summary>Its type.</summary>
    [Id(1)] public required string JobType { get; init; }
    /// <summary>Its state.</summary>
    [Id(2)] public required JobStatus Status { get; init; }
    /// <summary>True for a pending job waiting for its turn in a serial queue.</summary>
    [Id(3)] public bool Parked { get; init; }
    /// <summary>The attempt that runs next or runs now; null once finished.</summary>
    [Id(4)] public int? Attempt { get; init; }
    /// <summary>Its serial queue, if any.</summary>
    [Id(5)] public string? QueueId { get; init; }
    /// <summary>When it was created (application clock).</summary>
    [Id(6)] public DateTimeOffset CreatedAt { get; init; }
    /// <summary>When it is due, while live.</summary>
    [Id(7)] public DateTimeOffset? DueAt { get; init; }
    /// <summary>When it finished.</summary>
    [Id(8)] public DateTimeOffset? FinishedAt { get; init; }
    /// <summary>The most recent failure's message.</summary>
    [Id(9)] public string? LastError { get; init; }
    /// <summary>Its priority among its type's due jobs, while live.</summary>
    [Id(10)] public short Priority { get; init; }
}

/// <summary>Everything the database knows about one job: what a job page shows.</summary>
[GenerateSerializer, Immutable]
public sealed record JobDetails
{
    /// <summary>State, attempt, next run, queue, config, last error.</summary>
    [Id(0)] public required JobSnapshot Snapshot { get; init; }
    /// <summary>True for a pending job waiting for its turn in a serial queue.</summary>
    [Id(1)] public bool Parked { get; init; }
    /// <summary>Its priority among its type's due jobs, while live.</summary>
    [Id(2)] public short Priority { get; init; }
    /// <summary>The W3C traceparent its runs join (the spawner's trace), if any.</summary>
    [Id(3)] public string? TraceParent { get; init; }
    /// <summary>The execution state the runner saved (JSON), while live.</summary>
    [Id(4)] public string? ExecutionStateJson { get; init; }
    /// <summary>The silo running it (<c>address:port@generation</c>), while running.</summary>
    [Id(5)] public string? ClaimedBy { get; init; }
    /// <summary>When the current run started, while running.</summary>
    [Id(6)] public DateTimeOffset? StartedAt { get; init; }
    /// <summary>When an operator asked the running job to stop, if one did.</summary>
    [Id(7)] public DateTimeOffset? CancelRequestedAt { get; init; }
    /// <summary>The last heartbeat of the current run (database time), while running.</summary>
    [Id(8)] public DateTimeOffset? AliveAt { get; init; }
    /// <summary>True for the one unique job of its type (<c>SpawnUniqueAsync</c>).</summary>
    [Id(9)] public bool Unique { get; init; }
    /// <summary>The history, oldest first: all of it, or the window asked for (<see cref="JobHistoryWindow"/>).</summary>
    [Id(10)] public required IReadOnlyList<JobEvent> History { get; init; }
    /// <summary>How many events the job's history holds in all; more than <see cref="History"/> holds
    /// when that is a window.</summary>
    [Id(11)] public long HistoryTotal { get; init; }
    /// <summary>True when the history holds events older than the first of <see cref="History"/>: the
    /// window does not reach back to the job's first event. Page back with <see cref="JobHistoryWindow.Before"/>
    /// set to that event's <see cref="JobEvent.Sequence"/>.</summary>
    [Id(12)] public bool EarlierHistory { get; init; }
}

/// <summary>
/// Which part of a job's history <c>JobAdmin.GetAsync</c> reads: the latest <see cref="Limit"/> events
/// before the event <see cref="Before"/> (the newest ones when null). A job that reschedules itself keeps
/// every run in its history, tens of thousands of events a day at one run every few seconds, so a page
/// that shows a job reads a window of it, as the dashboard does, and pages back through the rest.
/// </summary>
/// <param name="Limit">At most this many events: 1 to <see cref="MaxLimit"/>.</param>
/// <param name="Before">Only events older than this one (its <see cref="JobEvent.Sequence"/>); null for the newest.</param>
[GenerateSerializer, Immutable]
public sealed record JobHistoryWindow([property: Id(0)] int Limit, [property: Id(1)] long? Before = null)
{
    /// <summary>The largest window.</summary>
    public const int MaxLimit = 10_000;
}

/// <summary>How many jobs of one type are in one state.</summary>
/// <param name="JobType">The type.</param>
/// <param name="State">The state (<see cref="JobStatus.Pending"/> counts parked jobs too).</param>
/// <param name="Count">How many.</param>
[GenerateSerializer, Immutable]
public sealed record JobStateCount([property: Id(0)] string JobType, [property: Id(1)] JobStatus State, [property: Id(2)] long Count);

/// <summary>Counts by state and type at one moment, and how late the oldest due job is.</summary>
[GenerateSerializer, Immutable]
public sealed record JobCounts
{
    /// <summary>When the counts were taken (application clock).</summary>
    [Id(0)] public DateTimeOffset At { get; init; }
    /// <summary>One row per type and state with at least one job.</summary>
    [Id(1)] public required IReadOnlyList<JobStateCount> ByTypeAndState { get; init; }
    /// <summary>The due time of the longest-waiting pending job (not parked); null when none waits.</summary>
    [Id(2)] public DateTimeOffset? OldestDueAt { get; init; }
    /// <summary>The due time of each type's longest-waiting pending job (types with none are absent):
    /// a type whose due jobs wait while others run names itself.</summary>
    [Id(3)] public IReadOnlyDictionary<string, DateTimeOffset> OldestDueByType { get; init; } = new Dictionary<string, DateTimeOffset>();

    /// <summary>Jobs in <paramref name="state"/> across types.</summary>
    public long Total(JobStatus state) => ByTypeAndState.Where(c => c.State == state).Sum(c => c.Count);

    /// <summary>How long the oldest due job has waited at <see cref="At"/>; zero when none waits.</summary>
    public TimeSpan OldestDueLag => OldestDueAt is { } due && due < At ? At - due : TimeSpan.Zero;
}

/// <summary>What a cancel did.</summary>
public enum JobCancelOutcome
{
    /// <summary>The job waited; it ended cancelled.</summary>
    Cancelled = 1,

    /// <summary>The job runs; its runner's token fired, and it ends cancelled when the run returns
    /// (a run that ignores the token is cut off after the silo's shutdown timeout).</summary>
    CancelRequested = 2,
}

/// <summary>What a bulk operation did.</summary>
[GenerateSerializer, Immutable]
public sealed record JobBulkResult
{
    /// <summary>How many jobs the filter or selection matched (at most the operation's limit).</summary>
    [Id(0)] public int Matched { get; init; }
    /// <summary>How many were changed (for a cancel: cancelled, or asked to stop when running).</summary>
    [Id(1)] public int Changed { get; init; }
    /// <summary>How many were left alone because of their state (a running job for a retry, a live one for a delete).</summary>
    [Id(2)] public int Skipped { get; init; }
    /// <summary>How many no longer existed.</summary>
    [Id(3)] public int Missing { get; init; }
    /// <summary>True when the filter matched more than the limit: run the operation again for the rest.</summary>
    [Id(4)] public bool More { get; init; }
}

/// <summary>How many jobs a filter matches, counted up to a limit: a big table is never counted whole.</summary>
[GenerateSerializer, Immutable]
public sealed record JobMatchCount
{
    /// <summary>The jobs counted: every job the filter matches, or the limit when <see cref="More"/>.</summary>
    [Id(0)] public int Count { get; init; }
    /// <summary>True when more jobs match than the limit.</summary>
    [Id(1)] public bool More { get; init; }
}

/// <summary>One Orleans silo as membership lists it, with the jobs it runs.</summary>
[GenerateSerializer, Immutable]
public sealed record JobSiloInfo
{
    /// <summary>The Orleans cluster (deployment) id.</summary>
    [Id(0)] public required string ClusterId { get; init; }
    /// <summary>The silo's address, port and generation, as claims record it (<c>address:port@generation</c>).</summary>
    [Id(1)] public required string Address { get; init; }
    /// <summary>The silo's name.</summary>
    [Id(2)] public required string Name { get; init; }
    /// <summary>The host it runs on.</summary>
    [Id(3)] public required string HostName { get; init; }
    /// <summary>Orleans' status: Created, Joining, Active, ShuttingDown, Stopping, Dead.</summary>
    [Id(4)] public required string Status { get; init; }
    /// <summary>When it started.</summary>
    [Id(5)] public DateTimeOffset StartedAt { get; init; }
    /// <summary>Its last "I am alive" write.</summary>
    [Id(6)] public DateTimeOffset LastHeartbeatAt { get; init; }
    /// <summary>Jobs it runs now.</summary>
    [Id(7)] public long RunningJobs { get; init; }
    /// <summary>Other silos suspected it (missed probes): with <see cref="Status"/> Dead, it crashed or was
    /// cut off and its peers declared it dead; a silo that stopped itself was suspected by none.</summary>
    [Id(8)] public bool SuspectedByPeers { get; init; }
}

/// <summary>One recorded admin operation.</summary>
[GenerateSerializer, Immutable]
public sealed record JobAdminAction
{
    /// <summary>Order of the record.</summary>
    [Id(0)] public long Sequence { get; init; }
    /// <summary>retry, cancel, delete, retry-bulk, cancel-bulk, delete-bulk, pause, resume.</summary>
    [Id(1)] public required string Action { get; init; }
    /// <summary>The job, for a single-job operation.</summary>
    [Id(2)] public JobId? JobId { get; init; }
    /// <summary>The type, for pause and resume and single-job operations.</summary>
    [Id(3)] public string? JobType { get; init; }
    /// <summary>The filter or selection of a bulk operation, in words.</summary>
    [Id(4)] public string? Detail { get; init; }
    /// <summary>How many jobs it changed.</summary>
    [Id(5)] public int Changed { get; init; }
    /// <summary>Who, when known.</summary>
    [Id(6)] public string? Actor { get; init; }
    /// <summary>When (application clock).</summary>
    [Id(7)] public DateTimeOffset RecordedAt { get; init; }
}
