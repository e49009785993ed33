using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Npgsql;
using NpgsqlTypes;

namespace Job.Storage;

/// <summary>
/// The admin statements (<c>Storage/Sql/admin_*.sql</c>, functions of migration 0008): job lists
/// composed from fixed predicates (every value a parameter), counts, and the operations, each on
/// the caller's connection and transaction so that an operation and its record commit together.
/// </summary>
internal sealed partial class JobAdminStore(JobDatabase database)
{
    /// <summary>A per-job outcome of job_admin_retry/cancel/delete.</summary>
    public readonly record struct Outcome(JobId Id, int Code, string? State)
    {
        public const int Missing = 0;
        public const int Done = 1;
        public const int Requested = 2;
        public const int WrongState = 3;
    }

    /// <summary>A list query resolved to its statement.</summary>
    public sealed record ListPlan(string Sql, Action<NpgsqlCommand> Bind, JobSort Sort);

    public ListPlan Plan(JobFilter filter, JobSort sort, bool descending, int limit, (DateTimeOffset At, Guid Id)? after)
    {
        var dir = descending ? "DESC" : "ASC";
        var cmp = descending ? "<" : ">";
        string template;
        string timeColumn;
        string[]? liveStates = null;
        var keysetById = false;
        string? finishedState = null;
        var state = filter.State;
        switch (state)
        {
            case null:
                if (sort is not (JobSort.Default or JobSort.CreatedAt))
                {
                    throw new ArgumentException("A list of every state is in creation order; pick a state to order by due or finish time.", nameof(sort));
                }

                if (filter.From is not null || filter.To is not null)
                {
                    throw new ArgumentException("A time range needs a state: finished jobs are filtered by finish time, waiting and running ones by due (or creation) time.", nameof(filter));
                }

                sort = JobSort.CreatedAt;
                template = database.Text(ClientSql.AdminListAll);
                timeColumn = "";
                keysetById = true;
                break;
            case JobStatus.Completed or JobStatus.Errored or JobStatus.Cancelled:
                if (sort is not (JobSort.Default or JobSort.FinishedAt))
                {
                    throw new ArgumentException("A list of finished jobs is ordered by finish time.", nameof(sort));
                }

                sort = JobSort.FinishedAt;
                template = database.Text(ClientSql.AdminListFinished);
                timeColumn = "j.finished_at";
                finishedState = JobStateNames.Name(state.Value);
                break;
            default:
                if (sort is JobSort.FinishedAt)
                {
                    throw new ArgumentException("A list of live jobs is ordered by due or creation time.", nameof(sort));
                }

                sort = sort == JobSort.CreatedAt ? JobSort.CreatedAt : JobSort.DueAt;
                timeColumn = sort == JobSort.CreatedAt ? "j.created_at" : "je.execute_at";
                template = database.Text(ClientSql.AdminListLive).Replace("{sort}", timeColumn, StringComparison.Ordinal);
                liveStates = state switch
                {
                    JobStatus.Pending => ["pending", "parked"],
                    JobStatus.Scheduled => ["scheduled"],
                    _ => ["running"],
                };
                break;
        }

        var where = new StringBuilder();
        if (filter.JobType is not null)
        {
            where.Append(" AND j.job_type = @type");
        }

        if (filter.QueueId is not null)
        {
            where.Append(" AND j.queue_id = @queue");
        }

        var idRange = IdRange(filter.IdPrefix);
        if (idRange is not null)
        {
            where.Append(" AND j.id BETWEEN @id_lo AND @id_hi");
        }

        if (filter.From is not null)
        {
            where.Append(CultureInfo.InvariantCulture, $" AND {timeColumn} >= @from");
        }

        if (filter.To is not null)
        {
            where.Append(CultureInfo.InvariantCulture, $" AND {timeColumn} < @to");
        }

        if (after is not null)
        {
            where.Append(keysetById
                ? $" AND j.id {cmp} @after_id"
                : $" AND ({timeColumn}, j.id) {cmp} (@after_at, @after_id)");
        }

        var sql = template
            .Replace("/*filters*/", where.ToString(), StringComparison.Ordinal)
            .Replace("{dir}", dir, StringComparison.Ordinal);
        return new ListPlan(sql, cmd =>
        {
            cmd.With("limit", limit, NpgsqlDbType.Integer);
            if (finishedState is not null)
            {
                cmd.With("state", finishedState, NpgsqlDbType.Varchar);
            }

            if (liveStates is not null)
            {
                cmd.With("states", liveStates, NpgsqlDbType.Array | NpgsqlDbType.Varchar);
            }

            if (filter.JobType is not null)
            {
                cmd.With("type", filter.JobType, NpgsqlDbType.Varchar);
            }

            if (filter.QueueId is not null)
            {
                cmd.With("queue", filter.QueueId, NpgsqlDbType.Varchar);
            }

            if (idRange is { } range)
            {
                cmd.With("id_lo", range.Low, NpgsqlDbType.Uuid).With("id_hi", range.High, NpgsqlDbType.Uuid);
            }

            if (filter.From is { } from)
            {
                cmd.WithTime("from", from);
            }

            if (filter.To is { } to)
            {
                cmd.WithTime("to", to);
            }

            if (after is { } a)
            {
                cmd.With("after_id", a.Id, NpgsqlDbType.Uuid);
                if (!keysetById)
                {
                    cmd.WithTime("after_at", a.At);
                }
            }
        }, sort);
    }

    /// <summary>How many rows the plan returns (bounded by its limit). A bounded count needs no order:
    /// the plan's <c>ORDER BY</c> (its own line in every list statement) is left out, so that a list
    /// ordered by a column no index sorts (live jobs by due time) does not sort every matching row.</summary>
    public async Task<long> CountAsync(ListPlan plan, CancellationToken ct)
    {
        var unordered = OrderByLine().Replace(plan.Sql, "");
        await using var cmd = database.DataSource.CreateCommand($"SELECT count(*) FROM (\n{unordered}\n) AS matched");
        plan.Bind(cmd);
        return (long)(await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
    }

    [GeneratedRegex(@"^ORDER BY .*$", RegexOptions.Multiline)]
    private static partial Regex OrderByLine();

    public async Task<List<(JobSummary Job, DateTimeOffset SortAt)>> ListAsync(NpgsqlConnection connection, NpgsqlTransaction? tx, ListPlan plan, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(plan.Sql, connection, tx);
        plan.Bind(cmd);
        return await cmd.ReadAllAsync(r =>
        {
            var terminal = r.GetStringOrNull(3);
            var live = r.GetStringOrNull(4);
            return (new JobSummary
            {
                Id = r.GetGuid(0),
                JobType = r.GetString(1),
                QueueId = r.GetStringOrNull(2),
                Status = StatusOf(terminal, live),
                Parked = live == "parked",
                Attempt = r.GetInt32OrNull(5),
                CreatedAt = r.GetTime(6)!.Value,
                DueAt = r.GetTime(7),
                FinishedAt = r.GetTime(8),
                LastError = r.GetStringOrNull(9),
                Priority = r.GetInt16(10),
            }, r.GetTime(11) ?? DateTimeOffset.MinValue);
        }, ct).ConfigureAwait(false);
    }

    public sealed record Extras(string? TraceParent, bool Unique, string? LiveState, short Priority, string? ExecutionStateJson,
        string? ClaimedBy, DateTimeOffset? StartedAt, DateTimeOffset? CancelRequestedAt, DateTimeOffset? AliveAt);

    public async Task<Extras?> ExtrasAsync(JobId id, CancellationToken ct)
    {
        await using var cmd = database.Command(ClientSql.AdminJob).With("id", id.Value, NpgsqlDbType.Uuid);
        var rows = await cmd.ReadAllAsync(r => new Extras(
            r.GetStringOrNull(0), r.GetBoolean(1), r.GetStringOrNull(2), r.IsDBNull(3) ? (short)0 : r.GetInt16(3), r.GetStringOrNull(4),
            r.GetStringOrNull(5), r.GetTime(6), r.GetTime(7), r.GetTime(8)), ct).ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0];
    }

    /// <summary>Live jobs by type and state, and the oldest pending due time of each type.</summary>
    public async Task<(List<JobStateCount> Counts, Dictionary<string, DateTimeOffset> OldestDueByType)> LiveCountsAsync(CancellationToken ct)
    {
        await using var cmd = database.Command(ClientSql.AdminCountsLive);
        var rows = await cmd.ReadAllAsync(r => (Type: r.GetString(0), State: r.GetString(1), Count: r.GetInt64(2), Due: r.GetTime(3)), ct).ConfigureAwait(false);
        var counts = rows
            .GroupBy(r => (r.Type, Status: StatusOf(null, r.State)))
            .Select(g => new JobStateCount(g.Key.Type, g.Key.Status, g.Sum(x => x.Count)))
            .ToList();
        var oldest = rows.Where(r => r.Due is not null).GroupBy(r => r.Type, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Min(r => r.Due!.Value), StringComparer.Ordinal);
        return (counts, oldest);
    }

    /// <summary>Finished jobs by type and state (all of them, or those finished after <paramref name="since"/>),
    /// with the latest finish time seen.</summary>
    public async Task<(List<JobStateCount> Counts, DateTimeOffset? Latest)> FinishedCountsAsync(DateTimeOffset? since, CancellationToken ct)
    {
        await using var cmd = since is { } s
            ? database.Command(ClientSql.AdminCountsFinishedSince).WithTime("since", s)
            : database.Command(ClientSql.AdminCountsFinished);
        var rows = await cmd.ReadAllAsync(r => (Type: r.GetString(0), State: r.GetString(1), Count: r.GetInt64(2), Latest: r.GetTime(3)), ct).ConfigureAwait(false);
        return (rows.Select(r => new JobStateCount(r.Type, StatusOf(r.State, null), r.Count)).ToList(), rows.Select(r => r.Latest).Max());
    }

    public async Task<List<Outcome>> RunAsync(NpgsqlConnection connection, NpgsqlTransaction tx, SqlStatement statement, IReadOnlyCollection<JobId> ids,
        string? reason, string? actor, DateTimeOffset now, CancellationToken ct)
    {
        await using var cmd = database.Command(connection, tx, statement)
            .With("ids", ids.Select(i => i.Value).ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Uuid);
        if (statement != ClientSql.AdminDelete)
        {
            cmd.With("reason", reason, NpgsqlDbType.Text).With("actor", actor, NpgsqlDbType.Text).WithTime("now", now);
        }

        return await cmd.ReadAllAsync(r => new Outcome(r.GetGuid(0), r.GetInt32(1), r.GetStringOrNull(2)), ct).ConfigureAwait(false);
    }

    public async Task<string?> JobTypeAsync(NpgsqlConnection connection, NpgsqlTransaction tx, JobId id, CancellationToken ct)
    {
        await using var cmd = database.Command(connection, tx, ClientSql.AdminJobType).With("id", id.Value, NpgsqlDbType.Uuid);
        return await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false) as string;
    }

    public async Task RecordAsync(NpgsqlConnection connection, NpgsqlTransaction tx, string action, JobId? id, string? jobType, string? detail,
        int changed, string? actor, DateTimeOffset now, CancellationToken ct)
    {
        await using var cmd = database.Command(connection, tx, ClientSql.AdminRecord)
            .With("action", action, NpgsqlDbType.Varchar)
            .With("job_id", id?.Value, NpgsqlDbType.Uuid)
            .With("job_type", jobType, NpgsqlDbType.Varchar)
            .With("detail", detail, NpgsqlDbType.Text)
            .With("changed", changed, NpgsqlDbType.Integer)
            .With("actor", actor, NpgsqlDbType.Text)
            .WithTime("now", now);
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    public async Task<List<JobAdminAction>> ActionsAsync(int limit, CancellationToken ct)
    {
        await using var cmd = database.Command(ClientSql.AdminActions).With("limit", limit, NpgsqlDbType.Integer);
        return await cmd.ReadAllAsync(r => new JobAdminAction
        {
            Sequence = r.GetInt64(0),
            Action = r.GetString(1),
            JobId = r.IsDBNull(2) ? null : new JobId(r.GetGuid(2)),
            JobType = r.GetStringOrNull(3),
            Detail = r.GetStringOrNull(4),
            Changed = r.GetInt32(5),
            Actor = r.GetStringOrNull(6),
            RecordedAt = r.GetTime(7)!.Value,
        }, ct).ConfigureAwait(false);
    }

    public async Task<List<JobSiloInfo>> SilosAsync(CancellationToken ct)
    {
        await using var cmd = database.Command(ClientSql.AdminSilos);
        return await cmd.ReadAllAsync(r => new JobSiloInfo
        {
            ClusterId = r.GetString(0),
            Address = r.GetString(1),
            Name = r.GetString(2),
            HostName = r.GetString(3),
            Status = SiloStatusName(r.GetInt32(4)),
            StartedAt = r.GetTime(5)!.Value,
            LastHeartbeatAt = r.GetTime(6)!.Value,
            RunningJobs = r.GetInt64(7),
            SuspectedByPeers = r.GetBoolean(8),
        }, ct).ConfigureAwait(false);
    }

    public static JobStatus StatusOf(string? terminal, string? live) => terminal switch
    {
        "completed" => JobStatus.Completed,
        "errored" => JobStatus.Errored,
        "cancelled" => JobStatus.Cancelled,
        _ => live switch
        {
            "running" => JobStatus.Running,
            "scheduled" => JobStatus.Scheduled,
            _ => JobStatus.Pending,
        },
    };

    private static string SiloStatusName(int status) => status switch
    {
        1 => "Created",
        2 => "Joining",
        3 => "Active",
        4 => "ShuttingDown",
        5 => "Stopping",
        6 => "Dead",
        _ => "None",
    };

    /// <summary>The ids that start with <paramref name="prefix"/>: a range of the primary key.</summary>
    /// <exception cref="ArgumentException">Not 1 to 32 hexadecimal digits (dashes ignored).</exception>
    public static (Guid Low, Guid High)? IdRange(string? prefix)
    {
        if (prefix is null)
        {
            return null;
        }

        var hex = prefix.Replace("-", "", StringComparison.Ordinal).Trim().ToLowerInvariant();
        if (hex.Length is 0 or > 32 || !hex.All(char.IsAsciiHexDigit))
        {
            throw new ArgumentException("An id prefix is 1 to 32 hexadecimal digits (dashes are ignored).", nameof(prefix));
        }

        return (Guid.ParseExact(hex.PadRight(32, '0'), "N"), Guid.ParseExact(hex.PadRight(32, 'f'), "N"));
    }
}
