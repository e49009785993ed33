using Job.Hosting;
using Job.Tests.Infrastructure;
using Npgsql;
using Xunit.Abstractions;

namespace Job.Tests.Cluster;

/// <summary>
/// Replicas started together (a first deploy, a scale-out) and stopped together (a scale-in): Orleans
/// writes each status change as a read and a write conditioned on the membership table's version, and
/// a silo whose write loses to another's waits 2–4 s (Orleans' fixed backoff) before its next attempt.
/// Job's silos take their turns instead, so every status change is written at its first attempt.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class SimultaneousStartTests(DatabaseFixture db, ITestOutputHelper output) : IClassFixture<DatabaseFixture>
{
    private const int Silos = 3;

    // Orleans logs each attempt at Debug, numbered from 0: "#1" follows a write that lost.
    private const string Attempt = "TryUpdateMyStatusGlobalOnce #";

    [Fact(Timeout = 240_000)]
    public async Task Silos_started_and_stopped_together_write_each_status_at_the_first_attempt()
    {
        await using var cluster = await ClusterHarness.CreateAsync(await db.CreateDatabaseAsync(), output);
        var debug = new Dictionary<string, string>
        {
            ["Logging__LogLevel__Orleans.Runtime.MembershipService.MembershipTableManager"] = "Debug",
            ["Logging__LogLevel__Job.Hosting.MembershipTurns"] = "Debug",
        };

        // Started at the same instant, as a deployment's replicas are.
        var starting = Enumerable.Range(0, Silos).Select(i => cluster.StartSilo(debug, $"together{i}")).ToArray();
        await Task.WhenAll(starting.Select(s => s.WaitReadyAsync(ClusterHarness.ReadyTimeout)));
        foreach (var silo in starting)
        {
            var attempts = silo.Lines.Where(l => l.Line.Contains(Attempt, StringComparison.Ordinal)).Select(l => l.Line).ToList();
            cluster.Log($"{silo.Label}: {attempts.Count} status attempt(s) to become active");
            Assert.True(attempts.Count >= 2, $"{silo.Label} logged {attempts.Count} status attempt(s); Joining and Active are two (is Orleans' debug log on?)");
            Assert.All(attempts, line => Assert.Contains(Attempt + "0", line, StringComparison.Ordinal));
        }

        Assert.True(await ClusterHarness.EventuallyAsync(
            async () => await cluster.ScalarAsync<long>("SELECT count(*) FROM orleans_membership WHERE status = 3") == Silos, TimeSpan.FromSeconds(30)),
            "not every silo is active in the membership table");

        // Stopped at the same instant: shutting down and dead, each written once.
        var before = starting.Select(s => s.Lines.Count(l => l.Line.Contains(Attempt, StringComparison.Ordinal))).ToArray();
        await Task.WhenAll(starting.Select(s => s.SignalAsync("TERM")));
        foreach (var silo in starting)
        {
            Assert.True(await silo.WaitForExitAsync(TimeSpan.FromSeconds(60)), $"{silo.Label} did not exit within 60 s of SIGTERM");
            Assert.Equal(0, silo.ExitCode);
        }

        for (var i = 0; i < Silos; i++)
        {
            var attempts = starting[i].Lines.Where(l => l.Line.Contains(Attempt, StringComparison.Ordinal)).Skip(before[i]).Select(l => l.Line).ToList();
            cluster.Log($"{starting[i].Label}: {attempts.Count} status attempt(s) to stop");
            Assert.True(attempts.Count >= 2, $"{starting[i].Label} logged {attempts.Count} status attempt(s) while stopping; ShuttingDown and Dead are two");
            Assert.All(attempts, line => Assert.Contains(Attempt + "0", line, StringComparison.Ordinal));
        }

        Assert.Equal(Silos, await cluster.ScalarAsync<long>("SELECT count(*) FROM orleans_membership WHERE status = 6"));

        // Each of the four writes was made in the silo's turn, none after giving up on it.
        foreach (var silo in starting)
        {
            var turns = silo.Lines.Where(l => l.Line.Contains("Membership turn to write", StringComparison.Ordinal)).Select(l => l.Line).ToList();
            cluster.Log($"{silo.Label}: {string.Join(" | ", turns.Select(t => t[(t.IndexOf("Membership turn", StringComparison.Ordinal) + "Membership turn to write ".Length)..]))}");
            Assert.Equal(["Joining", "Active", "ShuttingDown", "Dead"], turns.Select(t => t.Split("write ")[1].Split(' ')[0]).ToArray());
            Assert.False(silo.HasLine("without waiting for the cluster's turn"), $"{silo.Label} wrote a status without its turn");
        }
    }

    [Fact(Timeout = 180_000)]
    public async Task A_turn_held_elsewhere_delays_a_silos_start_by_the_bounded_wait_only()
    {
        await using var cluster = await ClusterHarness.CreateAsync(await db.CreateDatabaseAsync(), output);
        var debug = new Dictionary<string, string> { ["Logging__LogLevel__Job.Hosting.MembershipTurns"] = "Debug" };

        // A holder that never lets go: a process whose host vanished mid-turn, as far as the others see.
        await using var holder = new NpgsqlConnection(cluster.ConnectionString);
        await holder.OpenAsync();
        await using var transaction = await holder.BeginTransactionAsync();
        await using (var take = new NpgsqlCommand("SELECT pg_advisory_xact_lock(hashtextextended(@key, 0))", holder, transaction))
        {
            take.Parameters.AddWithValue("key", MembershipTurns.LockKey("job", cluster.ClusterId));
            await take.ExecuteNonQueryAsync();
        }

        var silo = await cluster.StartSiloReadyAsync(debug, "turnless");
        Assert.Equal(3, await cluster.MembershipStatusAsync(silo.Address!));
        var gaveUp = silo.Lines.Where(l => l.Line.Contains("without waiting for the cluster's turn", StringComparison.Ordinal)).Select(l => l.Line).ToList();
        cluster.Log(string.Join(Environment.NewLine, gaveUp));
        Assert.Equal(2, gaveUp.Count);
        Assert.Contains("Joining", gaveUp[0], StringComparison.Ordinal);
        Assert.Contains("Active", gaveUp[1], StringComparison.Ordinal);
        Assert.All(gaveUp, line => Assert.Contains("55P03", line, StringComparison.Ordinal));
        Assert.False(silo.HasLine("Membership turn to write"), "a silo took the turn another session holds");

        // Once the holder is gone, the next status change is written in its turn again.
        await transaction.RollbackAsync();
        await silo.SignalAsync("TERM");
        Assert.True(await silo.WaitForExitAsync(TimeSpan.FromSeconds(60)), "the silo did not exit within 60 s of SIGTERM");
        Assert.True(silo.HasLine("Membership turn to write ShuttingDown"), "the stop's first write was not made in its turn");
    }
}
