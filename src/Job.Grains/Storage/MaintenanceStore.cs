using NpgsqlTypes;

namespace Job.Storage;

/// <summary>The cluster's maintenance statements, run by the leader: the scheduler's promotion,
/// pruning, the report of jobs nobody claims, and the guard against a second cluster.</summary>
internal sealed class MaintenanceStore(JobDatabase database)
{
    /// <summary>Scheduled jobs due at <paramref name="now"/> become pending, up to <paramref name="limit"/>.</summary>
    public async Task<(int Promoted, DateTimeOffset? NextDue)> PromoteAsync(DateTimeOffset now, int limit, CancellationToken ct)
    {
        await using var cmd = database.Command(RuntimeSql.Promote)
            .WithTime("now", now)
            .With("limit", limit, NpgsqlDbType.Integer);
        await using var reader = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        await reader.ReadAsync(ct).ConfigureAwait(false);
        return (reader.GetInt32(0), reader.GetTime(1));
    }

    /// <summary>Deletes up to <paramref name="batch"/> jobs that finished before <paramref name="before"/>.</summary>
    public async Task<int> PruneAsync(DateTimeOffset before, int batch, CancellationToken ct)
    {
        await using var cmd = database.Command(RuntimeSql.Prune)
            .WithTime("before", before)
            .With("batch", batch, NpgsqlDbType.Integer);
        return await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    /// <summary>Of the next <paramref name="jobs"/> live jobs after <paramref name="after"/>, deletes the
    /// events recorded before <paramref name="before"/> among each one's oldest <paramref name="perJob"/>
    /// (never its provenance or its last two executions'). Returns the last job visited (null past the
    /// last live job), the count, and whether a job may hold more.</summary>
    public async Task<(Guid? LastVisited, int Deleted, bool More)> TrimLiveHistoryAsync(DateTimeOffset before, Guid after, int jobs, int perJob, CancellationToken ct)
    {
        // A transaction of its own, with PostgreSQL's JIT off for it alone (see trim_live_history.sql).
        await using var connection = await database.DataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);
        await using (var jitOff = database.Command(connection, transaction, RuntimeSql.JitOff))
        {
            await jitOff.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }

        (Guid?, int, bool) result;
        await using (var cmd = database.Command(connection, transaction, RuntimeSql.TrimLiveHistory)
            .WithTime("before", before)
            .With("after", after, NpgsqlDbType.Uuid)
            .With("jobs", jobs, NpgsqlDbType.Integer)
            .With("per_job", perJob, NpgsqlDbType.Integer))
        {
            await using var reader = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
            await reader.ReadAsync(ct).ConfigureAwait(false);
            result = (reader.IsDBNull(0) ? null : reader.GetGuid(0), reader.GetInt32(1), reader.GetBoolean(2));
        }

        await transaction.CommitAsync(ct).ConfigureAwait(false);
        return result;
    }

    /// <summary>The types whose next job to claim has been due since before <paramref name="before"/>.</summary>
    public async Task<IReadOnlyList<(string JobType, DateTimeOffset DueAt)>> WaitingSinceAsync(DateTimeOffset before, CancellationToken ct)
    {
        await using var cmd = database.Command(RuntimeSql.WaitingLongest).WithTime("before", before);
        return await cmd.ReadAllAsync(r => (r.GetString(0), r.GetTime(1)!.Value), ct).ConfigureAwait(false);
    }

    /// <summary>Live jobs by type and state.</summary>
    public async Task<IReadOnlyList<(string JobType, string State, long Count)>> QueueDepthAsync(CancellationToken ct)
    {
        await using var cmd = database.Command(RuntimeSql.QueueDepth);
        return await cmd.ReadAllAsync(r => (r.GetString(0), r.GetString(1), r.GetInt64(2)), ct).ConfigureAwait(false);
    }

    /// <summary>A live silo of another cluster on this database, if any: its cluster id, address and
    /// seconds since its last I-am-alive.</summary>
    public async Task<(string ClusterId, string Address, int SecondsAgo)?> ForeignClusterAsync(string clusterId, TimeSpan aliveWithin, CancellationToken ct)
    {
        await using var cmd = database.Command(RuntimeSql.ForeignClusters)
            .With("cluster", clusterId, NpgsqlDbType.Varchar)
            .With("alive_within", aliveWithin, NpgsqlDbType.Interval);
        var rows = await cmd.ReadAllAsync(r => (r.GetString(0), r.GetString(1), r.GetInt32(2)), ct).ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0];
    }
}
