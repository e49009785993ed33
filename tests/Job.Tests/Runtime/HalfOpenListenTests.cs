using Job.Common;
using Job.Tests.Infrastructure;
using Microsoft.Extensions.Logging;
using Npgsql;
using Xunit.Abstractions;

namespace Job.Tests.Runtime;

/// <summary>
/// Issue 10, point 13: a NAT or load balancer that silently drops an idle connection leaves the
/// silo's LISTEN connection half-open: no FIN, no RST, so a wait on it never ends. The silo runs
/// through a <see cref="TcpProxy"/> that blackholes every connection open at one moment, with a
/// one-minute safety poll so that polling cannot hide a deaf listener; jobs are spawned on a direct
/// connection, so their notifications are sent and only the silo's hearing is at stake.
/// </summary>
public sealed class HalfOpenListenTests(DatabaseFixture db, ITestOutputHelper output) : IClassFixture<DatabaseFixture>
{
    private static readonly TimeSpan SafetyPoll = TimeSpan.FromSeconds(60);

    // The listener notices the silence within its idle check plus its round trip's timeout and
    // Npgsql's cancellation timeout (2 s by default), 17 s; the rest is room for a loaded machine, and
    // the whole stays far below the safety poll.
    private static readonly TimeSpan StartWithin =
        PostgresListener.IdleCheckInterval + TimeSpan.FromSeconds(PostgresListener.RoundTripTimeoutSeconds + 2 + 8);

    [Fact]
    public async Task After_the_listen_connection_goes_silent_due_and_scheduled_jobs_start_long_before_the_safety_poll()
    {
        await using var proxy = TcpProxy.ForPostgres(db.ConnectionString);
        // Npgsql's default command timeout (30 s): the pooled connections blackholed with the listener's
        // would hold a claim longer than the test waits, unless the listener clears their pool when it
        // finds its own connection silent (without that, this test failed: the job due now never started).
        var viaProxy = new NpgsqlConnectionStringBuilder(proxy.Route(db.ConnectionString)) { Timeout = 3 }.ConnectionString;
        var logs = new LogCapture();
        await using var harness = new JobsHarness(viaProxy);
        var jobs = await harness.StartAsync(b => b
            .PollerConfig(new JobPollerConfig { MaxPollInterval = SafetyPoll, ShutdownTimeout = TimeSpan.FromSeconds(2) })
            .Logging(l => l.AddProvider(logs)));
        var init = TestInitializer.Completing($"half-open-{Guid.NewGuid():N}");
        var spawner = jobs.AddInitializer(init);
        await jobs.StartPollAsync();
        try
        {
            // The silo polls and listens: a job spawned through it runs, and its LISTEN session is open.
            var warmUp = await spawner.SpawnAsync(JobId.New(), new TestConfig());
            Assert.True((await JobsHarness.EventuallyAsync(() => jobs.FindAsync(warmUp.Id), j => j.Completed)).Completed);
            Assert.True(await JobsHarness.EventuallyAsync(() => ListeningSessionsAsync(), n => n > 0) > 0, "no session of the silo is in LISTEN");

            var silenced = proxy.Blackhole();
            Assert.True(silenced > 0);
            var blackholedAt = DateTimeOffset.UtcNow;

            // Due now, and due in 2 s (its scheduler's job_scheduled notification is lost too).
            var dueNow = JobId.New();
            var dueSoon = JobId.New();
            var dueSoonAt = jobs.Clock.Now.AddSeconds(2);
            DateTimeOffset spawnedAt;
            await using (var direct = new NpgsqlConnection(db.ConnectionString))
            {
                await direct.OpenAsync();
                await using var tx = await direct.BeginTransactionAsync();
                await spawner.SpawnAsync(tx, dueNow, new TestConfig(1));
                await spawner.SpawnAtAsync(tx, dueSoon, new TestConfig(2), dueSoonAt);
                await tx.CommitAsync();
                spawnedAt = DateTimeOffset.UtcNow;
            }

            var started = await StartedAtAsync(init, dueNow, StartWithin);
            Assert.True(started is not null, $"the job due now did not start within {StartWithin.TotalSeconds} s of its spawn ({silenced} connections blackholed; safety poll {SafetyPoll.TotalSeconds} s)");
            var lag = started.Value - spawnedAt;
            output.WriteLine($"{silenced} connections blackholed; spawn -> start of the job due now: {lag.TotalSeconds:F2} s");

            var soonStarted = await StartedAtAsync(init, dueSoon, StartWithin);
            Assert.True(soonStarted is not null, "the job due 2 s after the blackhole did not start");
            output.WriteLine($"the job due 2 s after the blackhole started {(soonStarted.Value - dueSoonAt).TotalSeconds:F2} s after its due time");

            // Listening again, the type's scheduler hears of later work: a job due in 2 s starts on time.
            var laterAt = jobs.Clock.Now.AddSeconds(2);
            var later = JobId.New();
            await using (var direct = new NpgsqlConnection(db.ConnectionString))
            {
                await direct.OpenAsync();
                await using var tx = await direct.BeginTransactionAsync();
                await spawner.SpawnAtAsync(tx, later, new TestConfig(3), laterAt);
                await tx.CommitAsync();
            }

            var laterStarted = await StartedAtAsync(init, later, TimeSpan.FromSeconds(20));
            Assert.True(laterStarted is not null, "the job scheduled after the reconnect did not start");
            var laterLag = laterStarted.Value - laterAt;
            output.WriteLine($"the job scheduled after the reconnect started {laterLag.TotalSeconds:F3} s after its due time");
            Assert.True(laterLag < TimeSpan.FromSeconds(5), $"the job scheduled after the reconnect started {laterLag.TotalSeconds:F1} s late");

            var warning = logs.Entries.FirstOrDefault(e => e.Level == LogLevel.Warning && e.Category == typeof(global::Job.Notifications.JobNotificationListener).FullName);
            Assert.True(warning.Message is not null, "the listener logged no warning");
            output.WriteLine($"{(DateTimeOffset.UtcNow - blackholedAt).TotalSeconds:F1} s since the blackhole; listener: {warning.Message}");
            Assert.DoesNotContain(PostgresServer.AppPassword, string.Join('\n', logs.Entries.Select(e => e.Message)), StringComparison.Ordinal);
        }
        finally
        {
            foreach (var (level, category, message) in logs.Entries.Where(e => e.Level >= LogLevel.Warning && e.Category.StartsWith("Job", StringComparison.Ordinal)))
            {
                output.WriteLine($"{level} {category}: {message}");
            }
        }
    }

    // Sessions of the test database whose last statement was a LISTEN (the silo's listener).
    private async Task<long> ListeningSessionsAsync()
    {
        await using var connection = new NpgsqlConnection(db.ConnectionString);
        await connection.OpenAsync();
        await using var count = new NpgsqlCommand(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN %'", connection);
        return (long)(await count.ExecuteScalarAsync())!;
    }

    // When the job's first run started (its runner records the clock), or null if it did not within the time.
    private static async Task<DateTimeOffset?> StartedAtAsync(TestInitializer init, JobId id, TimeSpan within)
    {
        var run = await JobsHarness.EventuallyAsync(
            () => Task.FromResult(init.Runs.FirstOrDefault(r => r.Id == id)),
            r => r.Id == id,
            within);
        return run.Id == id ? run.Now : null;
    }
}
