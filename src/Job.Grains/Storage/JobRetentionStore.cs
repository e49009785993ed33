using Npgsql;
using NpgsqlTypes;

namespace Job.Storage;

/// <summary>
/// Deletes finished jobs, with their history, once they are older than the retention. Batches keep
/// each transaction short, so pruning a large backlog never holds many locks or a long snapshot.
/// </summary>
internal sealed class JobRetentionStore(NpgsqlDataSource dataSource)
{
    /// <summary>Deletes at most <paramref name="batch"/> jobs of the type finished before
    /// <paramref name="before"/> (application clock); returns how many.</summary>
    public async Task<int> PruneAsync(string jobType, DateTimeOffset before, int batch, CancellationToken ct)
    {
        await using var cmd = JobDatabase.Command(dataSource, "prune")
            .With("job_type", jobType, NpgsqlDbType.Varchar)
            .WithTime("before", before)
            .With("batch", batch, NpgsqlDbType.Integer);
        return await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }
}
