using NpgsqlTypes;

namespace Job.Storage;

/// <summary>What a caller does to a job it does not run: cancel it, or ask to hear when it ends.</summary>
internal sealed class JobControlStore(JobDatabase database)
{
    /// <summary>How a cancel went.</summary>
    public enum CancelResult
    {
        /// <summary>The job had already finished, or does not exist.</summary>
        NotLive = 0,

        /// <summary>The job waited; it ended cancelled.</summary>
        Cancelled = 1,

        /// <summary>The job runs; its silo was asked to stop it.</summary>
        Requested = 2,
    }

    public async Task<CancelResult> CancelAsync(JobId id, string reason, DateTimeOffset now, CancellationToken ct)
    {
        await using var cmd = database.Command(ClientSql.Cancel)
            .With("id", id.Value, NpgsqlDbType.Uuid)
            .With("reason", reason, NpgsqlDbType.Text)
            .WithTime("now", now);
        return (CancelResult)(int)(await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
    }

    /// <summary>Marks the job awaited, so its end is announced on the job_terminal channel.</summary>
    public async Task MarkAwaitedAsync(JobId id, CancellationToken ct)
    {
        await using var cmd = database.Command(ClientSql.MarkAwaited).With("id", id.Value, NpgsqlDbType.Uuid);
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }
}
