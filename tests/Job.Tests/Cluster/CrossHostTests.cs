using System.Globalization;
using Job.Silo.Embedded;
using Job.TestSilo;
using Npgsql;
using Xunit.Abstractions;

namespace Job.Tests.Cluster;

/// <summary>
/// Issue 10.3: two processes started with the crate-style facade and nothing but a connection
/// string, on two hosts and one database, must form one cluster, and one must rescue the other's
/// jobs when it dies. The hosts are two network namespaces of this machine (<see cref="TwoHostNetwork"/>),
/// where an address only one host can reach, such as loopback, fails as it would between machines.
/// Needs root and iproute2's <c>ip</c> (CI has both).
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class CrossHostTests(ITestOutputHelper output)
{
    private const string Role = "job_crosshost";

    [Fact(Timeout = 300_000)]
    public async Task Facade_silos_on_two_hosts_form_one_cluster_and_rescue_each_others_jobs()
    {
        await using var network = await TwoHostNetwork.CreateAsync(output.WriteLine);
        // After the network: PostgreSQL binds the bridge's address, which must exist by then.
        await using var server = await LocalPostgres.StartAsync(new LocalPostgresOptions
        {
            Fsync = false,
            PasswordAuthentication = true,
            StopWithOwnerProcess = true,
            ExtraListenAddresses = [(TwoHostNetwork.BridgeAddress, TwoHostNetwork.Subnet)],
        });
        var password = "pw-" + Guid.NewGuid().ToString("N");
        await server.CreateRoleAsync(Role, password);
        var onThisHost = await server.CreateDatabaseAsync("crosshost", new DatabaseOwner(Role, password));
        onThisHost = new NpgsqlConnectionStringBuilder(onThisHost) { SearchPath = "job,public" }.ConnectionString;
        await using var cluster = await ClusterHarness.CreateAsync(onThisHost, output);
        var fromTheHosts = new NpgsqlConnectionStringBuilder(onThisHost) { Host = TwoHostNetwork.BridgeAddress }.ConnectionString;
        cluster.Log($"PostgreSQL on port {server.Port}, reached by the hosts at {TwoHostNetwork.BridgeAddress} as {Role} with a password");

        // Two processes, each as an application would start it: Jobs.InitAsync(Builder().PgCon(cs)…), no endpoint.
        var facade = new Dictionary<string, string> { ["JOB_TEST_ENTRY"] = "facade", ["JOB_TEST_CS"] = fromTheHosts };
        var silos = network.Hosts.Select(h => cluster.StartSilo(facade, h.Namespace, h.Exec)).ToArray();
        var expected = network.Hosts.Select(h => h.Address).Order(StringComparer.Ordinal).ToArray();

        // One cluster: both Active, each at its own host's address.
        var formed = await ClusterHarness.EventuallyAsync(
            async () => (await ActiveAddressesAsync(cluster)).SequenceEqual(expected), ClusterHarness.ReadyTimeout, TimeSpan.FromMilliseconds(500));
        Assert.True(formed,
            $"the two silos did not become Active members of one cluster at {string.Join(" and ", expected)} within {ClusterHarness.ReadyTimeout.TotalSeconds:F0} s; " +
            $"membership: {await MembershipAsync(cluster)}; logs in {cluster.LogDirectory}");
        var bothActive = DateTime.UtcNow;
        foreach (var (silo, host) in silos.Zip(network.Hosts))
        {
            var address = await silo.WaitReadyAsync(ClusterHarness.ReadyTimeout);
            cluster.Log($"{silo.Label} (pid {silo.Pid}) ready as {address}");
            Assert.Equal(host.Address, ClusterHarness.ParseAddress(address).Host);
        }

        // A blocking job starts on one of them.
        var job = JobId.New();
        await cluster.Block.SpawnAsync(job, new BlockConfig());
        Assert.True(await ClusterHarness.EventuallyAsync(
            async () => await cluster.ScalarAsync<long>("SELECT count(*) FROM test_runs WHERE job_id = @id", ("id", job.Value)) == 1, TimeSpan.FromSeconds(30)),
            "the blocking job did not start");
        var runner = await cluster.ScalarAsync<string>("SELECT silo FROM test_runs WHERE job_id = @id", ("id", job.Value));
        var victim = silos.Single(s => s.Address == runner);
        var survivor = silos.Single(s => s != victim);

        // They probe each other: past three probe timeouts (3 s each) with both still Active and
        // unsuspected, neither can be failing to reach the other.
        var probing = TimeSpan.FromSeconds(12) - (DateTime.UtcNow - bothActive);
        if (probing > TimeSpan.Zero)
        {
            await Task.Delay(probing);
        }

        var membership = await MembershipAsync(cluster);
        cluster.Log($"membership {(DateTime.UtcNow - bothActive).TotalSeconds:F1}s after both were Active: {membership}");
        Assert.True((await ActiveAddressesAsync(cluster)).SequenceEqual(expected), $"a silo left the cluster: {membership}");
        Assert.Equal(0L, await cluster.ScalarAsync<long>(
            "SELECT count(*) FROM orleans_membership WHERE deployment_id = @c AND coalesce(suspect_times, '') <> ''", ("c", cluster.ClusterId)));

        // kill -9 the silo running it: the survivor, on the other host, rescues it.
        cluster.Log($"{victim.Label} ({victim.Address}) runs the job; kill -9");
        var killedAt = DateTime.UtcNow;
        victim.Kill9();
        Assert.True(await victim.WaitForExitAsync(TimeSpan.FromSeconds(10)), "the killed silo's process did not exit within 10 s");
        Assert.True(await ClusterHarness.EventuallyAsync(
            async () => await cluster.ScalarAsync<long>("SELECT count(*) FROM test_runs WHERE job_id = @id AND silo = @s", ("id", job.Value), ("s", survivor.Address!)) == 1,
            TimeSpan.FromSeconds(45), TimeSpan.FromMilliseconds(100)),
            $"the killed silo's job did not start again on {survivor.Label} within 45 s of kill -9 (the README promises about 10–15 s); membership: {await MembershipAsync(cluster)}");
        var lost = await cluster.ScalarAsync<DateTime>("SELECT recorded_at FROM job_events WHERE job_id = @id AND event_type = 'silo_lost'", ("id", job.Value));
        var restarted = await cluster.ScalarAsync<DateTime>("SELECT started_at FROM test_runs WHERE job_id = @id AND silo = @s", ("id", job.Value), ("s", survivor.Address!));
        cluster.Log(string.Create(CultureInfo.InvariantCulture,
            $"RESCUE across hosts: kill -9 → silo_lost {(lost.ToUniversalTime() - killedAt).TotalSeconds:F1}s → restarted on {survivor.Label} {(restarted.ToUniversalTime() - killedAt).TotalSeconds:F1}s"));

        await cluster.ExecuteAsync("INSERT INTO test_release (job_id) VALUES (@id)", ("id", job.Value));
        Assert.True(await ClusterHarness.EventuallyAsync(() => cluster.AllCompletedAsync(1), TimeSpan.FromSeconds(30)), "the rescued job did not complete");
        Assert.Equal(ClusterHarness.SiloStatusDead, await cluster.MembershipStatusAsync(victim.Address!));
        var history = (await cluster.RowsAsync("SELECT event_type, reason FROM job_events WHERE job_id = @id ORDER BY seq", ("id", job.Value)))
            .Select(r => (Type: (string)r[0]!, Reason: r[1] as string)).ToList();
        Assert.Contains(victim.Address!, Assert.Single(history, e => e.Type == "silo_lost").Reason);
        Assert.Single(history, e => e.Type == "job_completed");
        var runs = await cluster.RowsAsync("SELECT attempt, silo FROM test_runs WHERE job_id = @id ORDER BY started_at", ("id", job.Value));
        Assert.Equal([(1, victim.Address!), (2, survivor.Address!)], runs.Select(r => ((int)r[0]!, (string)r[1]!)).ToArray());
        Assert.False(survivor.HasExited);
    }

    private static async Task<string[]> ActiveAddressesAsync(ClusterHarness cluster) =>
        [.. (await cluster.RowsAsync(
                "SELECT address FROM orleans_membership WHERE deployment_id = @c AND status = @s",
                ("c", cluster.ClusterId), ("s", ClusterHarness.SiloStatusActive)))
            .Select(r => (string)r[0]!).Order(StringComparer.Ordinal)];

    private static async Task<string> MembershipAsync(ClusterHarness cluster)
    {
        var rows = await cluster.RowsAsync(
            "SELECT address, port, generation, status, coalesce(suspect_times, '') FROM orleans_membership WHERE deployment_id = @c ORDER BY start_time",
            ("c", cluster.ClusterId));
        return rows.Count == 0
            ? "(no rows)"
            : string.Join("; ", rows.Select(r => string.Create(CultureInfo.InvariantCulture, $"{r[0]}:{r[1]}@{r[2]} status {r[3]}{(r[4] is string { Length: > 0 } s ? $" suspected by {s}" : "")}")));
    }
}
