using Npgsql;
using NpgsqlTypes;

namespace Job.Storage;

/// <summary>One job to insert: id, config JSON, due time, queue.</summary>
internal readonly record struct NewJob(JobId Id, string ConfigJson, DateTimeOffset ExecuteAt, string? QueueId);

/// <summary>
/// Inserts jobs: one statement per batch (arrays, not a round trip per job), on our own connection
/// or inside the caller's transaction. Errors are mapped to the library's exceptions, and inside a
/// caller's transaction a savepoint keeps a failed spawn from poisoning the caller's work.
/// </summary>
internal sealed class JobSpawnStore(NpgsqlDataSource dataSource)
{
    private const string UniqueTypeConstraint = "jobs_unique_per_type";

    /// <summary>Inserts the jobs; returns false only when <paramref name="unique"/> and a unique job of the type exists.</summary>
    public async Task<bool> InsertAsync(JobType jobType, IReadOnlyList<NewJob> jobs, bool unique, string? traceParent, DateTimeOffset now, NpgsqlTransaction? tx, CancellationToken ct)
    {
        var duplicate = jobs.GroupBy(j => j.Id).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new DuplicateJobIdException(duplicate.Key);
        }

        if (tx is null)
        {
            await using var connection = await dataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
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
        await using var cmd = JobDatabase.Command(connection, tx, "spawn")
            .With("ids", jobs.Select(j => j.Id.Value).ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Uuid)
            .With("configs", jobs.Select(j => j.ConfigJson).ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Jsonb)
            .With("execute_ats", jobs.Select(j => j.ExecuteAt.UtcDateTime).ToArray(), NpgsqlDbType.Array | NpgsqlDbType.TimestampTz)
            .With("queue_ids", jobs.Select(j => j.QueueId).ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Varchar)
            .With("job_type", jobType.Name, NpgsqlDbType.Varchar)
            .With("unique", unique, NpgsqlDbType.Boolean)
            .With("trace_parent", traceParent, NpgsqlDbType.Varchar)
            .WithTime("now", now);
        try
        {
            await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            return true;
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UniqueViolation && ex.ConstraintName == UniqueTypeConstraint)
        {
            if (jobs.Count == 1 && await ExistsAsync(jobs[0].Id, ct).ConfigureAwait(false))
            {
                throw new DuplicateJobIdException(jobs[0].Id);
            }

            return false;
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            throw new DuplicateJobIdException(await FindExistingAsync(jobs, ct).ConfigureAwait(false) ?? jobs[0].Id);
        }
    }

    private async Task<bool> ExistsAsync(JobId id, CancellationToken ct) =>
        await FindExistingAsync([new NewJob(id, "null", default, null)], ct).ConfigureAwait(false) is not null;

    // Which of the ids is taken (Postgres hides the key in the error unless detail is enabled).
    private async Task<JobId?> FindExistingAsync(IReadOnlyList<NewJob> jobs, CancellationToken ct)
    {
        await using var cmd = JobDatabase.Command(dataSource, "existing_ids")
            .With("ids", jobs.Select(j => j.Id.Value).ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Uuid);
        return await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false) is Guid id ? new JobId(id) : null;
    }
}
