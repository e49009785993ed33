using Npgsql;
using NpgsqlTypes;

namespace Job.Storage;

/// <summary>Reads and writes the cluster-wide flow control: the job_types and job_queues tables.</summary>
internal sealed class FlowControlStore(JobDatabase database)
{
    /// <summary>Which settings a change sets; the others keep their values.</summary>
    public sealed record Change(bool? Paused = null, bool SetMaxRunning = false, int? MaxRunning = null, bool SetRate = false, JobRateLimit? Rate = null);

    public Task<JobTypeSettings> SetAsync(JobType type, Change change, string? by, CancellationToken ct) =>
        SetAsync(null, null, type, change, by, ct);

    /// <summary>As <see cref="SetAsync(JobType, Change, string?, CancellationToken)"/>, on the caller's
    /// connection and inside its transaction when given (an admin operation records itself in the same one).</summary>
    public async Task<JobTypeSettings> SetAsync(NpgsqlConnection? connection, NpgsqlTransaction? tx, JobType type, Change change, string? by, CancellationToken ct)
    {
        await using var cmd = (connection is null ? database.Command(ClientSql.TypeSettingsSet) : database.Command(connection, tx, ClientSql.TypeSettingsSet))
            .With("type", type.Name, NpgsqlDbType.Varchar)
            .With("set_paused", change.Paused.HasValue, NpgsqlDbType.Boolean)
            .With("paused", change.Paused ?? false, NpgsqlDbType.Boolean)
            .With("set_max_running", change.SetMaxRunning, NpgsqlDbType.Boolean)
            .With("max_running", change.MaxRunning, NpgsqlDbType.Integer)
            .With("set_rate", change.SetRate, NpgsqlDbType.Boolean)
            .With("rate_limit", change.Rate?.Starts, NpgsqlDbType.Integer)
            .With("rate_period", change.Rate?.Period, NpgsqlDbType.Interval)
            .With("by", by, NpgsqlDbType.Text);
        var rows = await cmd.ReadAllAsync(Read, ct).ConfigureAwait(false);
        return rows[0];
    }

    public async Task<IReadOnlyList<JobTypeSettings>> ReadAsync(JobType? type, CancellationToken ct)
    {
        await using var cmd = database.Command(ClientSql.TypeSettings).With("type", type?.Name, NpgsqlDbType.Varchar);
        return await cmd.ReadAllAsync(Read, ct).ConfigureAwait(false);
    }

    /// <summary>Sets (or, with null, clears) a serial queue's limit and rebalances the queue, in one transaction.</summary>
    public async Task SetQueueLimitAsync(string queueId, int? maxRunning, DateTimeOffset now, CancellationToken ct)
    {
        await using var connection = await database.DataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var tx = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);
        await using (var set = database.Command(connection, tx, maxRunning is null ? ClientSql.QueueLimitClear : ClientSql.QueueLimitSet)
            .With("queue", queueId, NpgsqlDbType.Varchar)
            .With("max_running", maxRunning, NpgsqlDbType.Integer))
        {
            await set.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }

        await using (var rebalance = database.Command(connection, tx, ClientSql.QueueRebalance)
            .With("queue", queueId, NpgsqlDbType.Varchar)
            .WithTime("now", now))
        {
            await rebalance.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }

        await tx.CommitAsync(ct).ConfigureAwait(false);
    }

    public async Task<int> QueueLimitAsync(string queueId, CancellationToken ct)
    {
        await using var cmd = database.Command(ClientSql.QueueLimit).With("queue", queueId, NpgsqlDbType.Varchar);
        return await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false) is int limit ? limit : 1;
    }

    /// <summary>Puts a type's limits back to its declaration in code (none when nothing is declared).</summary>
    public async Task<JobTypeSettings> ResetAsync(JobType type, string? by, CancellationToken ct)
    {
        await using var cmd = database.Command(ClientSql.TypeReset)
            .With("type", type.Name, NpgsqlDbType.Varchar)
            .With("by", by, NpgsqlDbType.Text);
        return (await cmd.ReadAllAsync(Read, ct).ConfigureAwait(false))[0];
    }

    /// <summary>The hashes of the limits last declared in code for <paramref name="types"/>.</summary>
    public async Task<Dictionary<string, string>> DeclaredHashesAsync(IReadOnlyCollection<string> types, CancellationToken ct)
    {
        await using var cmd = database.Command(ClientSql.TypeDeclarations)
            .With("types", types.ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Varchar);
        var rows = await cmd.ReadAllAsync(r => (r.GetString(0), r.GetString(1)), ct).ConfigureAwait(false);
        return rows.ToDictionary(r => r.Item1, r => r.Item2, StringComparer.Ordinal);
    }

    /// <summary>Applies a type's limits declared in code (null: none declared); returns applied, cleared or unchanged.</summary>
    public async Task<string> DeclareAsync(JobType type, JobTypeLimits? limits, CancellationToken ct)
    {
        var declared = limits is { IsEmpty: false } ? limits : null;
        await using var cmd = database.Command(ClientSql.TypeDeclare)
            .With("type", type.Name, NpgsqlDbType.Varchar)
            .With("max_running", declared?.MaxRunning, NpgsqlDbType.Integer)
            .With("rate_limit", declared?.RateLimit?.Starts, NpgsqlDbType.Integer)
            .With("rate_period", declared?.RateLimit?.Period, NpgsqlDbType.Interval)
            .With("hash", declared?.Hash(), NpgsqlDbType.Varchar);
        return (string)(await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
    }

    private static JobTypeSettings Read(NpgsqlDataReader r) => new(
        new JobType(r.GetString(0)),
        r.GetBoolean(1),
        r.GetInt32OrNull(2),
        r.IsDBNull(3) ? null : new JobRateLimit(r.GetInt32(3), r.GetFieldValue<TimeSpan>(4)),
        r.GetTime(5) ?? DateTimeOffset.MinValue,
        r.GetStringOrNull(6));
}
