using Npgsql;
using NpgsqlTypes;

namespace Job.Storage;

/// <summary>A job's stored row joined with its live queue row, if any.</summary>
internal sealed record StoredJob(
    JobId Id,
    string JobType,
    string ConfigJson,
    string? QueueId,
    JobTerminalState? TerminalState,
    string? LastError,
    DateTimeOffset CreatedAt,
    DateTimeOffset? FinishedAt,
    bool Running,
    int? Attempt,
    DateTimeOffset? ExecuteAt)
{
    public JobStatus Status => TerminalState switch
    {
        JobTerminalState.Completed => JobStatus.Completed,
        JobTerminalState.Errored => JobStatus.Errored,
        JobTerminalState.Cancelled => JobStatus.Cancelled,
        _ => Running ? JobStatus.Running : JobStatus.Pending,
    };

    public JobSnapshot ToSnapshot() => new()
    {
        Id = Id,
        JobType = JobType,
        Status = Status,
        Attempt = Attempt ?? 0,
        NextRunAt = Running ? null : ExecuteAt,
        LastError = LastError,
        ConfigJson = ConfigJson,
        QueueId = QueueId,
        CreatedAt = CreatedAt,
        FinishedAt = FinishedAt,
    };
}

/// <summary>Reads jobs and their history.</summary>
internal sealed class JobReadStore(NpgsqlDataSource dataSource)
{
    public async Task<StoredJob?> FindAsync(JobId id, CancellationToken ct)
    {
        await using var cmd = JobDatabase.Command(dataSource, "find_job").With("id", id.Value, NpgsqlDbType.Uuid);
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
            reader.GetStringOrNull(4) switch
            {
                "completed" => JobTerminalState.Completed,
                "errored" => JobTerminalState.Errored,
                "cancelled" => JobTerminalState.Cancelled,
                _ => null,
            },
            reader.GetStringOrNull(5),
            reader.GetTime(6)!.Value,
            reader.GetTime(7),
            reader.GetStringOrNull(8) == "running",
            reader.GetInt32OrNull(9),
            reader.GetTime(10));
    }

    public async Task<IReadOnlyList<JobEvent>> EventsAsync(JobId id, CancellationToken ct)
    {
        await using var cmd = JobDatabase.Command(dataSource, "job_events").With("id", id.Value, NpgsqlDbType.Uuid);
        return await cmd.ReadAllAsync(reader => new JobEvent
        {
            Sequence = reader.GetInt64(0),
            Type = reader.GetString(1),
            Attempt = reader.GetInt32OrNull(2),
            ScheduledAt = reader.GetTime(3),
            ErrorMessage = reader.GetStringOrNull(4),
            ErrorType = reader.GetStringOrNull(5),
            Reason = reader.GetStringOrNull(6),
            RecordedAt = reader.GetTime(7)!.Value,
        }, ct).ConfigureAwait(false);
    }
}
