using Job.Claims;
using Job.Completion;
using Npgsql;
using NpgsqlTypes;

namespace Job.Storage;

/// <summary>Who this silo is, as the claim statement checks it against Orleans membership.</summary>
/// <param name="Name">The silo address as claimed_by stores it (<c>address:port@generation</c>).</param>
/// <param name="ClusterId">Its cluster; null when clustering is not Job's (no membership check).</param>
/// <param name="Address">Its IP address, as the membership table stores it.</param>
/// <param name="Port">Its silo port.</param>
/// <param name="Generation">Its generation (one per start).</param>
internal sealed record SiloIdentity(string Name, string? ClusterId, string Address, int Port, int Generation);

/// <summary>A type whose limits kept due jobs waiting, and when to ask for it again: after
/// <paramref name="RetryAfter"/> (a rate's next token, another silo's claim of the type), or, when null,
/// once a run of the type ends (its <c>job_ready</c> notification).</summary>
internal readonly record struct BlockedType(string JobType, TimeSpan? RetryAfter);

/// <summary>The claim statement's answer: the claims, and the types whose limits kept due jobs waiting.</summary>
internal sealed record ClaimResult(IReadOnlyList<ClaimedJob> Claims, IReadOnlyList<BlockedType> Blocked);

/// <summary>
/// The silo's side of the queue: claims, the outcomes of runs (batched, fenced), heartbeats,
/// rescues and checkpoints. Each method is one round trip and one transaction.
/// </summary>
internal sealed class QueueStore(JobDatabase database)
{
    public async Task<ClaimResult> ClaimAsync(IReadOnlyList<string> types, IReadOnlyList<int> quotas, IReadOnlyList<int> oldest, int limit, SiloIdentity silo, DateTimeOffset now, CancellationToken ct)
    {
        await using var cmd = database.Command(RuntimeSql.Claim)
            .With("types", types.ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Varchar)
            .With("quotas", quotas.ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Integer)
            .With("oldest", oldest.ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Integer)
            .With("limit", limit, NpgsqlDbType.Integer)
            .With("silo", silo.Name, NpgsqlDbType.Varchar)
            .With("cluster", silo.ClusterId, NpgsqlDbType.Varchar)
            .With("address", silo.Address, NpgsqlDbType.Varchar)
            .With("port", silo.Port, NpgsqlDbType.Integer)
            .With("generation", silo.Generation, NpgsqlDbType.Integer)
            .WithTime("now", now);
        var claims = new List<ClaimedJob>();
        var blocked = new List<BlockedType>();
        await using var reader = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        await reader.NextResultAsync(ct).ConfigureAwait(false); // past set_config's row (claim.sql)
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            if (reader.GetBoolean(13))
            {
                blocked.Add(new BlockedType(reader.GetString(1), reader.IsDBNull(3) ? null : TimeSpan.FromMilliseconds(reader.GetInt32(3))));
                continue;
            }

            claims.Add(new ClaimedJob
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
                StartedAt = reader.GetTime(9),
                ConfigJson = reader.GetString(10),
                TraceParent = reader.GetStringOrNull(11),
                CreatedAt = reader.GetTime(12)!.Value,
            });
        }

        return new ClaimResult(claims, blocked);
    }

    /// <summary>Writes the outcomes in one transaction (on the runner's, when given); returns the
    /// claims whose outcome was applied (the others were stale).</summary>
    public async Task<HashSet<(JobId Id, long Token)>> FinishAsync(IReadOnlyList<RunOutcome> outcomes, DateTimeOffset now, NpgsqlTransaction? tx, CancellationToken ct)
    {
        await using var cmd = tx is null
            ? database.Command(RuntimeSql.Finish)
            : database.Command(tx.Connection ?? throw new InvalidOperationException("The runner's transaction is already committed or rolled back; return a completion with an open transaction."), tx, RuntimeSql.Finish);
        var n = outcomes.Count;
        var ids = new Guid[n];
        var tokens = new long[n];
        var kinds = new short[n];
        var attempts = new int[n];
        var nextAttempts = new int[n];
        var at = new DateTime?[n];
        var resets = new bool[n];
        var messages = new string?[n];
        var errorTypes = new string?[n];
        var errorDetails = new string?[n];
        for (var i = 0; i < n; i++)
        {
            var o = outcomes[i];
            ids[i] = o.Claim.Id.Value;
            tokens[i] = o.Claim.ClaimToken;
            kinds[i] = (short)o.Kind;
            attempts[i] = o.Claim.Attempt;
            nextAttempts[i] = o.NextAttempt;
            at[i] = o.At is { } time ? NpgsqlCommandExtensions.Stored(time) : null;
            resets[i] = o.AttemptCounterReset;
            messages[i] = o.Message;
            errorTypes[i] = o.ErrorType;
            errorDetails[i] = o.ErrorDetail;
        }

        cmd.With("ids", ids, NpgsqlDbType.Array | NpgsqlDbType.Uuid)
            .With("tokens", tokens, NpgsqlDbType.Array | NpgsqlDbType.Bigint)
            .With("kinds", kinds, NpgsqlDbType.Array | NpgsqlDbType.Smallint)
            .With("attempts", attempts, NpgsqlDbType.Array | NpgsqlDbType.Integer)
            .With("next_attempts", nextAttempts, NpgsqlDbType.Array | NpgsqlDbType.Integer)
            .With("at", at, NpgsqlDbType.Array | NpgsqlDbType.TimestampTz)
            .With("resets", resets, NpgsqlDbType.Array | NpgsqlDbType.Boolean)
            .With("messages", messages, NpgsqlDbType.Array | NpgsqlDbType.Text)
            .With("error_types", errorTypes, NpgsqlDbType.Array | NpgsqlDbType.Varchar)
            .With("error_details", errorDetails, NpgsqlDbType.Array | NpgsqlDbType.Text)
            .WithTime("now", now);
        var applied = await cmd.ReadAllAsync(r => ((JobId)r.GetGuid(0), r.GetInt64(1)), ct).ConfigureAwait(false);
        return [.. applied];
    }

    /// <summary>Puts the running jobs of a dead silo back to pending (attempt counted, <c>silo_lost</c>).</summary>
    public Task<IReadOnlyList<RescuedJob>> RescueSiloAsync(string silo, DateTimeOffset now, CancellationToken ct) =>
        RescueAsync(silo, null, null, JobEventTypes.SiloLost, $"silo {silo} was declared dead", now, ct);

    /// <summary>Puts the running jobs of every silo membership lists as dead in <paramref name="clusterId"/>
    /// back to pending: those it claimed too late to be rescued when it died.</summary>
    public Task<IReadOnlyList<RescuedJob>> RescueDeadSilosAsync(string clusterId, DateTimeOffset now, CancellationToken ct) =>
        RescueAsync(null, clusterId, null, JobEventTypes.SiloLost, "its silo was declared dead", now, ct);

    /// <summary>Puts running jobs whose heartbeat is older than <paramref name="lostAfter"/> (database time) back to pending.</summary>
    public Task<IReadOnlyList<RescuedJob>> RescueLostAsync(TimeSpan lostAfter, DateTimeOffset now, CancellationToken ct) =>
        RescueAsync(null, null, lostAfter, JobEventTypes.JobLost, $"no heartbeat for {lostAfter}", now, ct);

    private async Task<IReadOnlyList<RescuedJob>> RescueAsync(string? silo, string? clusterId, TimeSpan? lostAfter, string eventType, string reason, DateTimeOffset now, CancellationToken ct)
    {
        await using var cmd = database.Command(RuntimeSql.Rescue)
            .With("silo", silo, NpgsqlDbType.Varchar)
            .With("cluster", clusterId, NpgsqlDbType.Varchar)
            .With("lost_after", lostAfter, NpgsqlDbType.Interval)
            .With("event_type", eventType, NpgsqlDbType.Varchar)
            .With("reason", reason, NpgsqlDbType.Text)
            .WithTime("now", now);
        return await cmd.ReadAllAsync(r => new RescuedJob(r.GetGuid(0), r.GetString(1), r.GetStringOrNull(2)), ct).ConfigureAwait(false);
    }

    /// <summary>Refreshes the heartbeat of <paramref name="claims"/>; returns those whose cancel was requested.</summary>
    public async Task<IReadOnlyList<JobId>> HeartbeatAsync(IReadOnlyCollection<(JobId Id, long Token)> claims, CancellationToken ct)
    {
        if (claims.Count == 0)
        {
            return [];
        }

        await using var cmd = database.Command(RuntimeSql.Heartbeat)
            .With("ids", claims.Select(c => c.Id.Value).ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Uuid)
            .With("tokens", claims.Select(c => c.Token).ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Bigint);
        var rows = await cmd.ReadAllAsync(r => (Id: new JobId(r.GetGuid(0)), Cancel: r.GetBoolean(1)), ct).ConfigureAwait(false);
        return [.. rows.Where(r => r.Cancel).Select(r => r.Id)];
    }

    public async Task<bool> UpdateExecutionStateAsync(ClaimedJob claim, string stateJson, NpgsqlTransaction? tx, CancellationToken ct)
    {
        await using var cmd = tx is null
            ? database.Command(RuntimeSql.UpdateExecutionState)
            : database.Command(tx.Connection!, tx, RuntimeSql.UpdateExecutionState);
        cmd.With("id", claim.Id.Value, NpgsqlDbType.Uuid)
            .With("token", claim.ClaimToken, NpgsqlDbType.Bigint)
            .With("state", stateJson, NpgsqlDbType.Jsonb);
        return await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 1;
    }

    /// <summary>The job types that have pending jobs (a skip scan: one probe per such type).</summary>
    public async Task<IReadOnlyList<string>> PendingTypesAsync(CancellationToken ct)
    {
        await using var cmd = database.Command(RuntimeSql.PendingTypes);
        return await cmd.ReadAllAsync(r => r.GetString(0), ct).ConfigureAwait(false);
    }
}

/// <summary>A running job put back to pending by a rescue, and the silo that had it.</summary>
internal sealed record RescuedJob(JobId Id, string JobType, string? ClaimedBy);
