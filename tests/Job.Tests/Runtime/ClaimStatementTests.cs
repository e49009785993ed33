using Job.Storage;
using Job.Tests.Infrastructure;
using Npgsql;

namespace Job.Tests.Runtime;

/// <summary>
/// The claim statement on its own, against the store: due order within and across types (serial
/// queue heads and plain jobs alike), fair shares, priorities with one slot in ten for the
/// longest-waiting, future and unregistered rows left alone, concurrent claims falling through
/// locked rows, and limits that report a type blocked.
/// </summary>
public sealed class ClaimStatementTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    private static readonly SiloIdentity Silo = new("silo-1", null, "", 0, 0);

    [Fact]
    public async Task A_claim_takes_each_types_due_rows_in_due_order_and_leaves_future_and_other_rows()
    {
        var (database, queue) = await MigratedAsync();
        var now = DateTimeOffset.UtcNow;
        string a = Type("a"), b = Type("b");
        var expected = await SpawnAsync(database, now, 6, i => (i % 2 == 0 ? a : b, now.AddMinutes(-60 + i)));
        await SpawnAsync(database, now, 1, _ => (Type("other"), now.AddMinutes(-120)));
        await SpawnAsync(database, now, 1, _ => (a, now.AddMinutes(5)));

        var first = await ClaimAsync(queue, [a, b], [2, 2], 4, now);
        Assert.Equal([expected[0], expected[1], expected[2], expected[3]], first);

        var second = await ClaimAsync(queue, [b, a], [4, 4], 4, now);
        Assert.Equal(expected.Skip(4), second); // only two left; the future row stays scheduled
        Assert.Empty(await ClaimAsync(queue, [a, b], [4, 4], 4, now));
        Assert.Equal("scheduled", await StateAsync(database, a, "execute_at > now()"));
    }

    [Fact]
    public async Task A_claim_skips_rows_another_transaction_holds_and_takes_later_ones()
    {
        var (database, queue) = await MigratedAsync();
        var now = DateTimeOffset.UtcNow;
        string a = Type("a"), b = Type("b");
        var ids = await SpawnAsync(database, now, 4, i => (i < 2 ? a : b, now.AddMinutes(-10 + i)));

        await using var connection = await database.DataSource.OpenConnectionAsync();
        await using var tx = await connection.BeginTransactionAsync();
        await using (var hold = new NpgsqlCommand("SELECT id FROM job.job_executions WHERE id = ANY(@ids) FOR UPDATE", connection, tx))
        {
            hold.Parameters.AddWithValue("ids", new[] { ids[0].Value, ids[2].Value });
            await hold.ExecuteNonQueryAsync();
        }

        Assert.Equal([ids[1], ids[3]], (await ClaimAsync(queue, [a, b], [5, 5], 10, now)));
        await tx.RollbackAsync();
        Assert.Equal([ids[0], ids[2]], (await ClaimAsync(queue, [a, b], [5, 5], 10, now)));
    }

    [Fact]
    public async Task A_serial_queue_offers_only_its_head_and_a_plain_job_due_earlier_comes_first()
    {
        var (database, queue) = await MigratedAsync();
        var now = DateTimeOffset.UtcNow;
        var type = Type("queued");
        string q1 = $"q1-{Guid.NewGuid():N}", q2 = $"q2-{Guid.NewGuid():N}";
        var first = await SpawnAsync(database, now, 3, i => (type, now.AddMinutes(-30 + i)), q1);
        var second = await SpawnAsync(database, now, 2, i => (type, now.AddMinutes(-40 + i)), q2);
        var plain = await SpawnAsync(database, now, 1, _ => (type, now.AddMinutes(-50)));

        var claimed = await ClaimAsync(queue, [type], [10], 10, now);
        Assert.Equal([plain[0], second[0], first[0]], claimed); // heads only, in due order with the plain job
        Assert.Empty(await ClaimAsync(queue, [type], [10], 10, now)); // both queues run one
    }

    [Fact]
    public async Task Higher_priority_goes_first_but_one_slot_in_ten_goes_to_the_longest_waiting()
    {
        var (database, queue) = await MigratedAsync();
        var now = DateTimeOffset.UtcNow;
        var type = Type("prio");
        var low = await SpawnAsync(database, now, 5, i => (type, now.AddHours(-1).AddSeconds(i)), priority: 0);
        var high = await SpawnAsync(database, now, 20, i => (type, now.AddMinutes(-1).AddSeconds(i)), priority: 5);

        var byPriority = await ClaimAsync(queue, [type], [5], 5, now, oldest: [0]);
        Assert.Equal(high.Take(5), byPriority);
        var withOldest = await ClaimAsync(queue, [type], [10], 10, now, oldest: [1]);
        // The one slot in ten: the longest-waiting, whatever its priority. The claim returns its rows in
        // the order they should start (priority, then due time), so it comes after the nine of priority 5.
        Assert.Equal(high.Skip(5).Take(9), withOldest.Take(9));
        Assert.Equal(low[0], withOldest[9]);
    }

    [Fact]
    public async Task A_concurrency_limit_caps_running_jobs_cluster_wide_and_reports_the_type_blocked()
    {
        var (database, queue) = await MigratedAsync();
        var now = DateTimeOffset.UtcNow;
        var type = Type("limited");
        await SpawnAsync(database, now, 5, i => (type, now.AddMinutes(-5 + i)));
        await using (var limit = database.DataSource.CreateCommand("INSERT INTO job.job_types (job_type, max_running) VALUES (@t, 2)"))
        {
            limit.Parameters.AddWithValue("t", type);
            await limit.ExecuteNonQueryAsync();
        }

        var first = await queue.ClaimAsync([type], [5], [0], 5, Silo, now, default);
        Assert.Equal(2, first.Claims.Count);
        Assert.Equal([new BlockedType(type, null)], first.Blocked.Distinct()); // until a run of the type ends
        var second = await queue.ClaimAsync([type], [5], [0], 5, Silo with { Name = "silo-2" }, now, default);
        Assert.Empty(second.Claims);
        Assert.Equal([new BlockedType(type, null)], second.Blocked.Distinct());
    }

    [Fact]
    public async Task A_rate_limit_that_cuts_a_claim_short_reports_when_its_next_token_is_due()
    {
        var (database, queue) = await MigratedAsync();
        var now = DateTimeOffset.UtcNow;
        var type = Type("rated");
        await SpawnAsync(database, now, 5, i => (type, now.AddMinutes(-5 + i)));
        await using (var limit = database.DataSource.CreateCommand("INSERT INTO job.job_types (job_type, rate_limit, rate_period) VALUES (@t, 2, interval '10 seconds')"))
        {
            limit.Parameters.AddWithValue("t", type);
            await limit.ExecuteNonQueryAsync();
        }

        var first = await queue.ClaimAsync([type], [5], [0], 5, Silo, now, default);
        Assert.Equal(2, first.Claims.Count); // the bucket starts full: two tokens
        Assert.NotEmpty(first.Blocked);
        Assert.All(first.Blocked, blocked =>
        {
            Assert.Equal(type, blocked.JobType);
            // One token every 5 s: not the dispatcher's fallback (250 ms), the token's time.
            Assert.InRange(blocked.RetryAfter!.Value, TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(5));
        });
    }

    [Fact]
    public async Task A_limited_type_another_silo_is_claiming_is_reported_blocked_for_milliseconds()
    {
        var (database, queue) = await MigratedAsync();
        var now = DateTimeOffset.UtcNow;
        var type = Type("contended");
        await SpawnAsync(database, now, 3, i => (type, now.AddMinutes(-5 + i)));
        await using (var limit = database.DataSource.CreateCommand("INSERT INTO job.job_types (job_type, max_running) VALUES (@t, 10)"))
        {
            limit.Parameters.AddWithValue("t", type);
            await limit.ExecuteNonQueryAsync();
        }

        // The other silo's claim holds the type's row for its transaction.
        await using var other = await database.DataSource.OpenConnectionAsync();
        await using var tx = await other.BeginTransactionAsync();
        await using (var hold = new Npgsql.NpgsqlCommand("SELECT 1 FROM job.job_types WHERE job_type = @t FOR UPDATE", other, tx))
        {
            hold.Parameters.AddWithValue("t", type);
            await hold.ExecuteScalarAsync();
        }

        var contended = await queue.ClaimAsync([type], [3], [0], 3, Silo, now, default);
        Assert.Empty(contended.Claims);
        var blocked = Assert.Single(contended.Blocked.Distinct());
        Assert.InRange(blocked.RetryAfter!.Value, TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(50));

        await tx.RollbackAsync();
        Assert.Equal(3, (await queue.ClaimAsync([type], [3], [0], 3, Silo, now, default)).Claims.Count);
    }

    [Fact]
    public async Task A_silo_that_membership_does_not_list_as_active_claims_nothing()
    {
        var (database, queue) = await MigratedAsync();
        var now = DateTimeOffset.UtcNow;
        var type = Type("member");
        await SpawnAsync(database, now, 1, _ => (type, now.AddMinutes(-1)));
        var unknown = new SiloIdentity("10.0.0.9:11111@1", "a-cluster", "10.0.0.9", 11111, 1);
        Assert.Empty((await queue.ClaimAsync([type], [1], [0], 1, unknown, now, default)).Claims);
    }

    [Fact]
    public async Task A_spawn_into_a_queue_whose_head_is_being_claimed_waits_for_the_claim_and_parks()
    {
        // A spawn's rebalance that decided while a claim of the queue's head was in flight could read the
        // head as pending in one statement and as running in the next, and make the new job pending
        // beside it: two jobs of one serial queue running. It must wait for the claim to end.
        var (database, queue) = await MigratedAsync();
        var now = DateTimeOffset.UtcNow;
        var type = Type("inflight");
        var q = $"inflight-{Guid.NewGuid():N}";
        var head = (await SpawnAsync(database, now, 1, _ => (type, now.AddMinutes(-10)), q))[0];

        // A claim in flight: the head locked and marked running, not yet committed.
        await using var claimConnection = await database.DataSource.OpenConnectionAsync();
        await using var claim = await claimConnection.BeginTransactionAsync();
        await using (var take = new NpgsqlCommand("UPDATE job.job_executions SET state = 'running', claim_token = 1 WHERE id = @id", claimConnection, claim))
        {
            take.Parameters.AddWithValue("id", head.Value);
            Assert.Equal(1, await take.ExecuteNonQueryAsync());
        }

        var spawn = SpawnAsync(database, now, 1, _ => (type, now.AddMinutes(-5)), q);
        var waiting = await JobsHarness.EventuallyAsync(
            async () => spawn.IsCompleted || await LockWaitersAsync(database) > 0, w => w,
            TimeSpan.FromSeconds(30));
        Assert.True(waiting && !spawn.IsCompleted, "the spawn decided the queue's active jobs while its head's claim was in flight");

        await claim.CommitAsync();
        var second = (await spawn)[0];
        Assert.Equal("parked", await StateOfAsync(database, second));
        Assert.Empty(await ClaimAsync(queue, [type], [5], 5, now));
    }

    private static async Task<long> LockWaitersAsync(JobDatabase database)
    {
        await using var cmd = database.DataSource.CreateCommand(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'");
        return Convert.ToInt64(await cmd.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static async Task<string?> StateOfAsync(JobDatabase database, JobId id)
    {
        await using var cmd = database.DataSource.CreateCommand("SELECT state FROM job.job_executions WHERE id = @id");
        cmd.Parameters.AddWithValue("id", id.Value);
        return await cmd.ExecuteScalarAsync() as string;
    }

    private static async Task<List<JobId>> ClaimAsync(QueueStore queue, string[] types, int[] quotas, int limit, DateTimeOffset now, int[]? oldest = null) =>
        [.. (await queue.ClaimAsync(types, quotas, oldest ?? types.Select(_ => 0).ToArray(), limit, Silo, now, default)).Claims.Select(c => c.Id)];

    // Spawns count jobs one by one (so ids follow the order), the i-th of the given type and due time.
    private static async Task<List<JobId>> SpawnAsync(JobDatabase database, DateTimeOffset now, int count, Func<int, (string Type, DateTimeOffset Due)> job, string? queueId = null, short priority = 0)
    {
        var spawns = new JobSpawnStore(database);
        var ids = new List<JobId>(count);
        for (var i = 0; i < count; i++)
        {
            var (type, due) = job(i);
            var id = JobId.New();
            await spawns.InsertAsync(new JobType(type), [new NewJob(id, "{}", due, queueId, priority)], false, null, now, null, default);
            ids.Add(id);
        }

        return ids;
    }

    private static async Task<string?> StateAsync(JobDatabase database, string type, string where)
    {
        await using var cmd = database.DataSource.CreateCommand($"SELECT state FROM job.job_executions WHERE job_type = @t AND {where} LIMIT 1");
        cmd.Parameters.AddWithValue("t", type);
        return await cmd.ExecuteScalarAsync() as string;
    }

    private static string Type(string prefix) => $"claim-{prefix}-{Guid.NewGuid():N}";

    private async Task<(JobDatabase Database, QueueStore Queue)> MigratedAsync()
    {
        var source = NpgsqlDataSource.Create(await db.CreateDatabaseAsync());
        await JobMigrations.RunAsync(source);
        var database = new JobDatabase(source, JobSchema.Default);
        return (database, new QueueStore(database));
    }
}
