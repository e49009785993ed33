using Npgsql;
using NpgsqlTypes;

namespace Job.Storage;

/// <summary>One job to insert: id, config JSON, due time, queue, priority.</summary>
internal readonly record struct NewJob(JobId Id, string ConfigJson, DateTimeOffset ExecuteAt, string? QueueId, short Priority = 0);

/// <summary>
/// Inserts jobs: one round trip per batch (arrays, not a statement per job), on a pooled connection
/// or inside the caller's transaction. Errors are mapped to the library's exceptions, and inside a
/// caller's transaction a savepoint keeps a failed spawn from poisoning the caller's work.
/// </summary>
internal sealed class JobSpawnStore(JobDatabase database)
{
    /// <summary>Inserts the jobs; returns false only when <paramref name="unique"/> and a unique job of the type exists.</summary>
    /// <exception cref="DuplicateJobIdException">An id repeats in the batch or is taken; nothing was written.</exception>
    public async Task<bool> InsertAsync(JobType jobType, IReadOnlyList<NewJob> jobs, bool unique, string? traceParent, DateTimeOffset now, NpgsqlTransaction? tx, CancellationToken ct)
    {
        var duplicate = jobs.GroupBy(j => j.Id).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new DuplicateJobIdException(duplicate.Key);
        }

        if (tx is null)
        {
            await using var connection = await database.DataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
            return await InsertOnAsync(connection, null, jobType, jobs, unique, traceParent, now, ct).ConfigureAwait(false);
        }

        var connectionOfTx = tx.Connection ?? throw new InvalidOperationException("The transaction passed to the spawn is already committed or rolled back.");
        const string savepoint = "job_spawn";
        await tx.SaveAsync(savepoint, ct).ConfigureAwait(false);
        try
        {
            var created = await InsertOnAsync(connectionOfTx, tx, jobType, jobs, unique, traceParent, now, ct).ConfigureAwait(false);
            await tx.ReleaseAsync(savepoint, ct).ConfigureAwait(false);
            return created;
        }
        catch (Exception) when (tx.Connection is not null)
        {
            await tx.RollbackAsync(savepoint, CancellationToken.None).ConfigureAwait(false);
            throw;
        }
    }

    private async Task<bool> InsertOnAsync(NpgsqlConnection connection, NpgsqlTransaction? tx, JobType jobType, IReadOnlyList<NewJob> jobs, bool unique, string? traceParent, DateTimeOffset now, CancellationToken ct)
    {
        await using var cmd = database.Command(connection, tx, ClientSql.Spawn)
            .With("ids", jobs.Select(j => j.Id.Value).ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Uuid)
            .With("configs", jobs.Select(j => j.ConfigJson).ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Jsonb)
            .WithTimes("execute_ats", jobs.Select(j => (DateTimeOffset?)j.ExecuteAt))
            .With("queue_ids", jobs.Select(j => j.QueueId).ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Varchar)
            .With("priorities", jobs.Select(j => j.Priority).ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Smallint)
            .With("job_type", jobType.Name, NpgsqlDbType.Varchar)
            .With("unique", unique, NpgsqlDbType.Boolean)
            .With("trace_parent", traceParent, NpgsqlDbType.Varchar)
            .WithTime("now", now);
        try
        {
            return await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false) is int created && created > 0;
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            throw new DuplicateJobIdException(await FindExistingAsync(jobs, ct).ConfigureAwait(false) ?? jobs[0].Id);
        }
    }

    // Which of the ids is taken (PostgreSQL hides the key in the error unless detail is enabled).
    private async Task<JobId?> FindExistingAsync(IReadOnlyList<NewJob> jobs, CancellationToken ct)
    {
        await using var cmd = database.Command(ClientSql.ExistingIds)
            .With("ids", jobs.Select(j => j.Id.Value).ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Uuid);
        return await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false) is Guid id ? new JobId(id) : null;
    }
}
