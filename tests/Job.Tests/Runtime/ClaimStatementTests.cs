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
        var spawns = new JobSpawnStore(source);
        var queue = new JobQueueStore(source);
        var now = DateTimeOffset.UtcNow;
        string a = Type("a"), b = Type("b"), other = Type("other");

        // Interleaved due times over two types, a third type nobody claims, and future rows.
        var expected = new List<JobId>();
        for (var i = 0; i < 6; i++)
        {
            var id = JobId.New();
            await spawns.InsertAsync(new JobType(i % 2 == 0 ? a : b), [new NewJob(id, "{}", now.AddMinutes(-60 + i), null)], false, null, now, null, default);
            expected.Add(id);
        }

        await spawns.InsertAsync(new JobType(other), [new NewJob(JobId.New(), "{}", now.AddMinutes(-120), null)], false, null, now, null, default);
        await spawns.InsertAsync(new JobType(a), [new NewJob(JobId.New(), "{}", now.AddMinutes(5), null)], false, null, now, null, default);

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
        var spawns = new JobSpawnStore(source);
        var queue = new JobQueueStore(source);
        var now = DateTimeOffset.UtcNow;
        string a = Type("a"), b = Type("b");
        var ids = new List<JobId>();
        for (var i = 0; i < 4; i++)
        {
            var id = JobId.New();
            await spawns.InsertAsync(new JobType(i < 2 ? a : b), [new NewJob(id, "{}", now.AddMinutes(-10 + i), null)], false, null, now, null, default);
            ids.Add(id);
        }

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

    private static string Type(string prefix) => $"claim-{prefix}-{Guid.NewGuid():N}";

    private async Task<NpgsqlDataSource> MigratedSourceAsync()
    {
        var source = NpgsqlDataSource.Create(db.ConnectionString);
        await JobMigrations.RunAsync(source);
        return source;
    }
}
