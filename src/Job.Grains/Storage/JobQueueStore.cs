using Job.Scheduling;
using Npgsql;
using NpgsqlTypes;

namespace Job.Storage;

/// <summary>
/// The queue's writes: claims, completions, retries, hand-backs and rescues. Each method is one
/// statement (so one transaction), and every write back from a run is fenced by the claim token:
/// it returns false when the claim is stale and then has written nothing.
/// </summary>
internal sealed class JobQueueStore(NpgsqlDataSource dataSource)
{
    public NpgsqlDataSource DataSource => dataSource;

    public async Task<IReadOnlyList<ClaimedJob>> ClaimAsync(string[] types, DateTimeOffset now, int limit, string silo, CancellationToken ct)
    {
        await using var cmd = JobDatabase.Command(dataSource, "claim")
            .With("types", types, NpgsqlDbType.Array | NpgsqlDbType.Varchar)
            .WithTime("now", now)
            .With("limit", limit, NpgsqlDbType.Integer)
            .With("silo", silo, NpgsqlDbType.Varchar);
        return await cmd.ReadAllAsync(reader => new ClaimedJob
        {
            Id = reader.GetGuid(0),
            JobType = reader.GetString(1),
            QueueId = reader.GetStringOrNull(2),
            Attempt = reader.GetInt32(3),
            ClaimToken = reader.GetInt64(4),
            ExecutionStateJson = reader.GetStringOrNull(5),
            RetryFailedAt = reader.GetTime(6),
            RetryDueAt = reader.GetTime(7),
            DueAt = reader.GetTime(8)!.Value,
            ConfigJson = reader.GetString(9),
            TraceParent = reader.GetStringOrNull(10),
            CreatedAt = reader.GetTime(11)!.Value,
            ClaimedBy = silo,
        }, ct).ConfigureAwait(false);
    }

    public async Task<DateTimeOffset?> NextDueAsync(string[] types, DateTimeOffset now, CancellationToken ct)
    {
        await using var cmd = JobDatabase.Command(dataSource, "next_due")
            .With("types", types, NpgsqlDbType.Array | NpgsqlDbType.Varchar)
            .WithTime("now", now);
        var value = await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false);
        return value is DateTime dt ? new DateTimeOffset(dt, TimeSpan.Zero) : null;
    }

    /// <summary>Wakes the pollers of <paramref name="jobType"/> on every silo: its jobs due up to <paramref name="upTo"/> may be claimed.</summary>
    public async Task NotifyDueAsync(string jobType, DateTimeOffset upTo, CancellationToken ct)
    {
        await using var cmd = JobDatabase.Command(dataSource, "notify_due")
            .With("payload", JobNotifications.DuePayload(jobType, upTo), NpgsqlDbType.Text);
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    /// <summary>Completes a batch of claims; returns the ids whose claim was still current.</summary>
    public async Task<HashSet<Guid>> CompleteAsync(IReadOnlyList<(JobId Id, long Token, int Attempt)> jobs, DateTimeOffset now, NpgsqlTransaction? tx, CancellationToken ct)
    {
        await using var cmd = await CommandAsync(tx, "complete", ct).ConfigureAwait(false);
        cmd.With("ids", jobs.Select(j => j.Id.Value).ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Uuid)
            .With("tokens", jobs.Select(j => j.Token).ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Bigint)
            .With("attempts", jobs.Select(j => j.Attempt).ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Integer)
            .WithTime("now", now);
        var done = new HashSet<Guid>(await cmd.ReadAllAsync(reader => reader.GetGuid(0), ct).ConfigureAwait(false));
        await DisposeOwnedConnectionAsync(cmd, tx).ConfigureAwait(false);
        return done;
    }

    public async Task<bool> RescheduleAsync(ClaimedJob claim, DateTimeOffset at, DateTimeOffset now, NpgsqlTransaction? tx, CancellationToken ct)
    {
        await using var cmd = await CommandAsync(tx, "reschedule", ct).ConfigureAwait(false);
        cmd.With("id", claim.Id.Value, NpgsqlDbType.Uuid)
            .With("token", claim.ClaimToken, NpgsqlDbType.Bigint)
            .With("attempt", claim.Attempt, NpgsqlDbType.Integer)
            .WithTime("at", at)
            .WithTime("now", now);
        return await CountAndReleaseAsync(cmd, tx, ct).ConfigureAwait(false);
    }

    public async Task<bool> RetryAsync(ClaimedJob claim, int nextAttempt, DateTimeOffset retryAt, bool reset, JobFailure failure, DateTimeOffset now, CancellationToken ct)
    {
        await using var cmd = JobDatabase.Command(dataSource, "retry");
        cmd.With("id", claim.Id.Value, NpgsqlDbType.Uuid)
            .With("token", claim.ClaimToken, NpgsqlDbType.Bigint)
            .With("failed_attempt", claim.Attempt, NpgsqlDbType.Integer)
            .With("next_attempt", nextAttempt, NpgsqlDbType.Integer)
            .WithTime("retry_at", retryAt)
            .With("reset", reset, NpgsqlDbType.Boolean)
            .With("error_message", failure.Message, NpgsqlDbType.Text)
            .With("error_type", failure.Type, NpgsqlDbType.Varchar)
            .WithTime("now", now);
        return await CountAsync(cmd, ct).ConfigureAwait(false);
    }

    public async Task<bool> FailAsync(ClaimedJob claim, bool reset, JobFailure failure, DateTimeOffset now, CancellationToken ct)
    {
        await using var cmd = JobDatabase.Command(dataSource, "fail");
        cmd.With("id", claim.Id.Value, NpgsqlDbType.Uuid)
            .With("token", claim.ClaimToken, NpgsqlDbType.Bigint)
            .With("failed_attempt", claim.Attempt, NpgsqlDbType.Integer)
            .With("reset", reset, NpgsqlDbType.Boolean)
            .With("error_message", failure.Message, NpgsqlDbType.Text)
            .With("error_type", failure.Type, NpgsqlDbType.Varchar)
            .WithTime("now", now);
        return await CountAsync(cmd, ct).ConfigureAwait(false);
    }

    /// <summary>Hands claims back as pending and due now without counting an attempt.</summary>
    public async Task<int> AbortAsync(IReadOnlyCollection<(JobId Id, long Token)> claims, string reason, DateTimeOffset now, CancellationToken ct)
    {
        if (claims.Count == 0)
        {
            return 0;
        }

        await using var cmd = JobDatabase.Command(dataSource, "abort")
            .With("ids", claims.Select(c => c.Id.Value).ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Uuid)
            .With("tokens", claims.Select(c => c.Token).ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Bigint)
            .With("reason", reason, NpgsqlDbType.Text)
            .WithTime("now", now);
        return await CountRowsAsync(cmd, ct).ConfigureAwait(false);
    }

    /// <summary>Puts the running jobs of a dead silo back to pending (attempt counted, <c>silo_lost</c> event).</summary>
    public Task<IReadOnlyList<(JobId Id, string JobType)>> RescueSiloAsync(string silo, DateTimeOffset now, CancellationToken ct) =>
        RescueAsync(silo, null, TimeSpan.Zero, JobEventTypes.SiloLost, $"silo {silo} was declared dead", now, ct);

    /// <summary>Puts running jobs whose heartbeat is older than <paramref name="lostAfter"/> (database time) back to pending.</summary>
    public Task<IReadOnlyList<(JobId Id, string JobType)>> RescueLostAsync(string[] jobTypes, TimeSpan lostAfter, DateTimeOffset now, CancellationToken ct) =>
        RescueAsync(null, jobTypes, lostAfter, JobEventTypes.JobLost, $"no heartbeat for {lostAfter}", now, ct);

    private async Task<IReadOnlyList<(JobId Id, string JobType)>> RescueAsync(string? silo, string[]? jobTypes, TimeSpan lostAfter, string eventType, string reason, DateTimeOffset now, CancellationToken ct)
    {
        await using var cmd = JobDatabase.Command(dataSource, "rescue")
            .With("silo", silo, NpgsqlDbType.Varchar)
            .With("job_types", jobTypes, NpgsqlDbType.Array | NpgsqlDbType.Varchar)
            .With("lost_after", lostAfter, NpgsqlDbType.Interval)
            .With("event_type", eventType, NpgsqlDbType.Varchar)
            .With("reason", reason, NpgsqlDbType.Text)
            .WithTime("now", now);
        return await cmd.ReadAllAsync(reader => ((JobId)reader.GetGuid(0), reader.GetString(1)), ct).ConfigureAwait(false);
    }

    public async Task HeartbeatAsync(IReadOnlyCollection<(JobId Id, long Token)> claims, CancellationToken ct)
    {
        if (claims.Count == 0)
        {
            return;
        }

        await using var cmd = JobDatabase.Command(dataSource, "heartbeat")
            .With("ids", claims.Select(c => c.Id.Value).ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Uuid)
            .With("tokens", claims.Select(c => c.Token).ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Bigint);
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    public async Task<bool> UpdateExecutionStateAsync(ClaimedJob claim, string stateJson, NpgsqlTransaction? tx, CancellationToken ct)
    {
        await using var cmd = tx is null
            ? JobDatabase.Command(dataSource, "update_execution_state")
            : JobDatabase.Command(tx.Connection!, tx, "update_execution_state");
        cmd.With("id", claim.Id.Value, NpgsqlDbType.Uuid)
            .With("token", claim.ClaimToken, NpgsqlDbType.Bigint)
            .With("state", stateJson, NpgsqlDbType.Jsonb);
        return await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 1;
    }

    public async Task<(long Count, DateTimeOffset? OldestDue)> StalePendingAsync(string jobType, DateTimeOffset before, CancellationToken ct)
    {
        await using var cmd = JobDatabase.Command(dataSource, "stale_pending")
            .With("job_type", jobType, NpgsqlDbType.Varchar)
            .WithTime("before", before);
        await using var reader = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        await reader.ReadAsync(ct).ConfigureAwait(false);
        return (reader.GetInt64(0), reader.GetTime(1));
    }

    public async Task MarkAwaitedAsync(JobId id, CancellationToken ct)
    {
        await using var cmd = JobDatabase.Command(dataSource, "mark_awaited").With("id", id.Value, NpgsqlDbType.Uuid);
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    public async Task<bool> CancelAsync(JobId id, DateTimeOffset now, CancellationToken ct)
    {
        await using var cmd = JobDatabase.Command(dataSource, "cancel")
            .With("id", id.Value, NpgsqlDbType.Uuid)
            .WithTime("now", now);
        return await CountAsync(cmd, ct).ConfigureAwait(false);
    }

    // A command on the caller's transaction, or on a connection of our own (closed by DisposeOwnedConnectionAsync).
    private async Task<NpgsqlCommand> CommandAsync(NpgsqlTransaction? tx, string sqlName, CancellationToken ct)
    {
        if (tx is not null)
        {
            return JobDatabase.Command(tx.Connection ?? throw new InvalidOperationException("The runner's transaction is already committed or rolled back; return a completion with an open transaction."), tx, sqlName);
        }

        var connection = await dataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
        return JobDatabase.Command(connection, null, sqlName);
    }

    private static async Task DisposeOwnedConnectionAsync(NpgsqlCommand cmd, NpgsqlTransaction? tx)
    {
        if (tx is null && cmd.Connection is { } connection)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static async Task<bool> CountAndReleaseAsync(NpgsqlCommand cmd, NpgsqlTransaction? tx, CancellationToken ct)
    {
        try
        {
            return await CountAsync(cmd, ct).ConfigureAwait(false);
        }
        finally
        {
            await DisposeOwnedConnectionAsync(cmd, tx).ConfigureAwait(false);
        }
    }

    // The statements return the number of rows they changed in their first column.
    private static async Task<bool> CountAsync(NpgsqlCommand cmd, CancellationToken ct)
    {
        var value = await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false);
        return value is long n && n > 0;
    }

    private static async Task<int> CountRowsAsync(NpgsqlCommand cmd, CancellationToken ct) =>
        (await cmd.ReadAllAsync(static _ => true, ct).ConfigureAwait(false)).Count;
}

/// <summary>A failed run, as the history records it.</summary>
internal readonly record struct JobFailure(string Message, string Type)
{
    public static JobFailure From(Exception ex) => new(ex.Message, ex.GetType().FullName ?? ex.GetType().Name);
}
