using Npgsql;
using NpgsqlTypes;

namespace Job.Storage;

/// <summary>A job's stored row joined with its live row, if any.</summary>
internal sealed record StoredJob(
    JobId Id,
    string JobType,
    string ConfigJson,
    string? QueueId,
    JobTerminalState? TerminalState,
    string? LastError,
    DateTimeOffset CreatedAt,
    DateTimeOffset? FinishedAt,
    string? State,
    int? Attempt,
    DateTimeOffset? ExecuteAt,
    short Priority,
    string? ClaimedBy,
    DateTimeOffset? CancelRequestedAt)
{
    public JobStatus Status => TerminalState switch
    {
        JobTerminalState.Completed => JobStatus.Completed,
        JobTerminalState.Errored => JobStatus.Errored,
        JobTerminalState.Cancelled => JobStatus.Cancelled,
        _ => State switch
        {
            "running" => JobStatus.Running,
            "scheduled" => JobStatus.Scheduled,
            _ => JobStatus.Pending,
        },
    };

    public JobSnapshot ToSnapshot() => new()
    {
        Id = Id,
        JobType = JobType,
        Status = Status,
        Attempt = Attempt ?? 0,
        NextRunAt = State is "running" or null ? null : ExecuteAt,
        LastError = LastError,
        ConfigJson = ConfigJson,
        QueueId = QueueId,
        CreatedAt = CreatedAt,
        FinishedAt = FinishedAt,
    };
}

/// <summary>Reads jobs and their history.</summary>
internal sealed class JobReadStore(JobDatabase database)
{
    public async Task<StoredJob?> FindAsync(JobId id, CancellationToken ct)
    {
        await using var cmd = database.Command(ClientSql.FindJob).With("id", id.Value, NpgsqlDbType.Uuid);
        await using var reader = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        if (!await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            return null;
        }

        return new StoredJob(
            reader.GetGuid(0),
            reader.GetString(1),
            reader.GetString(2),
            reader.GetStringOrNull(3),
            TerminalStates.Parse(reader.GetStringOrNull(4)),
            reader.GetStringOrNull(5),
            reader.GetTime(6)!.Value,
            reader.GetTime(7),
            reader.GetStringOrNull(8),
            reader.GetInt32OrNull(9),
            reader.GetTime(10),
            reader.IsDBNull(11) ? (short)0 : reader.GetInt16(11),
            reader.GetStringOrNull(12),
            reader.GetTime(13));
    }

    public async Task<IReadOnlyList<JobEvent>> EventsAsync(JobId id, CancellationToken ct)
    {
        await using var cmd = database.Command(ClientSql.JobEvents).With("id", id.Value, NpgsqlDbType.Uuid);
        return await cmd.ReadAllAsync(ReadEvent, ct).ConfigureAwait(false);
    }

    /// <summary>Up to <paramref name="limit"/> events before <paramref name="before"/> (the newest when
    /// null), oldest first; whether earlier ones exist; how many the job holds in all.</summary>
    public async Task<(IReadOnlyList<JobEvent> Events, bool Earlier, long Total)> EventsWindowAsync(JobId id, long? before, int limit, CancellationToken ct)
    {
        await using var cmd = database.Command(ClientSql.JobEventsWindow)
            .With("id", id.Value, NpgsqlDbType.Uuid)
            .With("before", before, NpgsqlDbType.Bigint)
            .With("limit", limit + 1, NpgsqlDbType.Integer);
        var rows = await cmd.ReadAllAsync(reader => (Event: reader.IsDBNull(0) ? null : ReadEvent(reader), Total: reader.GetInt64(10)), ct).ConfigureAwait(false);
        var events = rows.Where(r => r.Event is not null).Select(r => r.Event!).Take(limit).Reverse().ToList();
        return (events, rows.Count(r => r.Event is not null) > limit, rows.Count == 0 ? 0 : rows[0].Total);
    }

    private static JobEvent ReadEvent(NpgsqlDataReader reader) => new()
    {
        Sequence = reader.GetInt64(0),
        Type = reader.GetString(1),
        Attempt = reader.GetInt32OrNull(2),
        ScheduledAt = reader.GetTime(3),
        ErrorMessage = reader.GetStringOrNull(4),
        ErrorType = reader.GetStringOrNull(5),
        Reason = reader.GetStringOrNull(6),
        RecordedAt = reader.GetTime(7)!.Value,
        Actor = reader.GetStringOrNull(8),
        ErrorDetail = reader.GetStringOrNull(9),
    };
}

/// <summary>The database's spelling of <see cref="JobTerminalState"/>.</summary>
internal static class TerminalStates
{
    public static JobTerminalState? Parse(string? value) => value switch
    {
        "completed" => JobTerminalState.Completed,
        "errored" => JobTerminalState.Errored,
        "cancelled" => JobTerminalState.Cancelled,
        _ => null,
    };
}
