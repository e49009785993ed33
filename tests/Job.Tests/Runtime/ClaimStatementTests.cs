using Job.Storage;
using Job.Tests.Infrastructure;
using Npgsql;

namespace Job.Tests.Runtime;

/// <summary>
/// The claim statement on its own, against the store: due order across several types, the batch
/// limit, future and unregistered rows left alone, and a concurrent claim falling through locked rows.
/// </summary>
public sealed class ClaimStatementTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    [Fact]
    public async Task A_claim_over_several_types_takes_the_earliest_due_rows_in_due_order()
    {
        await using var source = await MigratedSourceAsync();
        var queue = new JobQueueStore(source);
        var now = DateTimeOffset.UtcNow;
        string a = Type("a"), b = Type("b");

        // Interleaved due times over two types, a third type nobody claims, and a future row.
        var expected = await SpawnAsync(source, now, 6, i => (i % 2 == 0 ? a : b, now.AddMinutes(-60 + i)));
        await SpawnAsync(source, now, 1, _ => (Type("other"), now.AddMinutes(-120)));
        await SpawnAsync(source, now, 1, _ => (a, now.AddMinutes(5)));

        var first = await queue.ClaimAsync([a, b], now, 4, "silo-1", default);
        Assert.Equal(expected.Take(4), first.Select(c => c.Id));

        var second = await queue.ClaimAsync([b, a], now, 4, "silo-1", default);
        Assert.Equal(expected.Skip(4), second.Select(c => c.Id)); // only the two left; the future row stays

        Assert.Empty(await queue.ClaimAsync([a, b], now, 4, "silo-1", default));
        var next = await queue.NextDueAsync([a, b], now, default);
        Assert.NotNull(next);
        Assert.Equal(now.AddMinutes(5), next.Value, TimeSpan.FromMilliseconds(1));
    }

    [Fact]
    public async Task A_claim_skips_rows_another_transaction_holds_and_takes_later_ones()
    {
        await using var source = await MigratedSourceAsync();
        var queue = new JobQueueStore(source);
        var now = DateTimeOffset.UtcNow;
        string a = Type("a"), b = Type("b");
        var ids = await SpawnAsync(source, now, 4, i => (i < 2 ? a : b, now.AddMinutes(-10 + i)));

        await using var connection = await source.OpenConnectionAsync();
        await using var tx = await connection.BeginTransactionAsync();
        await using (var hold = new NpgsqlCommand("SELECT id FROM job_executions WHERE id = ANY(@ids) FOR UPDATE", connection, tx))
        {
            hold.Parameters.AddWithValue("ids", new[] { ids[0].Value, ids[2].Value });
            await hold.ExecuteNonQueryAsync();
        }

        var claimed = await queue.ClaimAsync([a, b], now, 10, "silo-1", default);
        Assert.Equal([ids[1], ids[3]], claimed.Select(c => c.Id));
        await tx.RollbackAsync();
        Assert.Equal([ids[0], ids[2]], (await queue.ClaimAsync([a, b], now, 10, "silo-1", default)).Select(c => c.Id));
    }

    [Fact]
    public async Task A_claim_takes_only_the_head_of_each_queue_and_nothing_from_a_queue_that_runs()
    {
        await using var source = await MigratedSourceAsync();
        var queue = new JobQueueStore(source);
        var now = DateTimeOffset.UtcNow;
        var type = Type("queued");
        string q1 = $"q1-{Guid.NewGuid():N}", q2 = $"q2-{Guid.NewGuid():N}";
        var first = await SpawnAsync(source, now, 3, i => (type, now.AddMinutes(-30 + i)), q1);
        var second = await SpawnAsync(source, now, 2, i => (type, now.AddMinutes(-40 + i)), q2);

        var claimed = await queue.ClaimAsync([type], now, 10, "silo-1", default);
        Assert.Equal([second[0], first[0]], claimed.Select(c => c.Id)); // heads only, in due order
        Assert.Empty(await queue.ClaimAsync([type], now, 10, "silo-1", default)); // both queues run one
    }

    // Spawns count jobs one by one (so ids follow the order), the i-th of the given type and due time.
    private static async Task<List<JobId>> SpawnAsync(NpgsqlDataSource source, DateTimeOffset now, int count, Func<int, (string Type, DateTimeOffset Due)> job, string? queueId = null)
    {
        var spawns = new JobSpawnStore(source);
        var ids = new List<JobId>(count);
        for (var i = 0; i < count; i++)
        {
            var (type, due) = job(i);
            var id = JobId.New();
            await spawns.InsertAsync(new JobType(type), [new NewJob(id, "{}", due, queueId)], false, null, now, null, default);
            ids.Add(id);
        }

        return ids;
    }

    private static string Type(string prefix) => $"claim-{prefix}-{Guid.NewGuid():N}";

    private async Task<NpgsqlDataSource> MigratedSourceAsync()
    {
        var source = NpgsqlDataSource.Create(db.ConnectionString);
        await JobMigrations.RunAsync(source);
        return source;
    }
}
