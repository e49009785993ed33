using Job.Tests.Infrastructure;
using Job.Tests.Runtime;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Runtime;

namespace Job.Tests.Foundation;

/// <summary>
/// Real silos on PostgreSQL through <c>AddJobs</c>: a silo that starts proves the Orleans schema and
/// named queries (a missing or broken query aborts the start).
/// </summary>
public sealed class SiloClusterTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>, IAsyncLifetime
{
    private const int Active = 3; // SiloStatus.Active
    private const int Dead = 6;   // SiloStatus.Dead
    private readonly FoundationHosts _hosts = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _hosts.DisposeAsync();

    [Fact]
    public async Task A_silo_starts_on_a_fresh_database_registers_in_membership_and_leaves_as_dead()
    {
        var cs = await db.CreateDatabaseAsync();
        var clusterId = FoundationHosts.NewClusterId();

        var silo = await _hosts.StartSiloAsync(cs, clusterId, "job-foundation");

        // AddJobs migrated the database at start.
        Assert.Equal(JobMigrations.All.Count, await FoundationHosts.ScalarAsync<long>(cs, "SELECT count(*) FROM job_schema_migrations"));
        var address = silo.Services.GetRequiredService<ILocalSiloDetails>().SiloAddress;
        Assert.Equal(Active, await StatusAsync(cs, clusterId, address));

        var hosts = await silo.Services.GetRequiredService<IGrainFactory>().GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true);
        Assert.Equal([address], hosts.Keys);

        await _hosts.StopAsync(silo);
        Assert.Equal(Dead, await StatusAsync(cs, clusterId, address));
    }

    [Fact]
    public async Task Two_silos_and_a_client_form_one_cluster()
    {
        var cs = await db.CreateDatabaseAsync();
        var clusterId = FoundationHosts.NewClusterId();
        const string serviceId = "job-foundation";

        // Started together: both run the migrations at start, on a fresh database.
        var silos = await Task.WhenAll(
            _hosts.StartSiloAsync(cs, clusterId, serviceId),
            _hosts.StartSiloAsync(cs, clusterId, serviceId));
        var addresses = silos.Select(s => s.Services.GetRequiredService<ILocalSiloDetails>().SiloAddress).ToHashSet();
        Assert.Equal(2, addresses.Count);

        var client = await _hosts.StartClientAsync(cs, clusterId, serviceId);
        var management = client.Services.GetRequiredService<IClusterClient>().GetGrain<IManagementGrain>(0);
        var hosts = await JobsHarness.EventuallyAsync(
            () => management.GetHosts(onlyActive: true), h => h.Count == 2, TimeSpan.FromSeconds(30));
        Assert.Equal(addresses, hosts.Keys.ToHashSet());
        Assert.All(hosts.Values, s => Assert.Equal(SiloStatus.Active, s));
        Assert.Equal(2L, await FoundationHosts.ScalarAsync<long>(
            cs, "SELECT count(*) FROM orleans_membership WHERE deployment_id = @d AND status = 3", ("d", clusterId)));

        // The client reaches grains through the gateways it read from the membership table.
        var state = client.Services.GetRequiredService<IClusterClient>().GetGrain<IStateTestGrain>($"cluster-{Guid.NewGuid():N}");
        await state.WriteAsync("via client", 7);
        Assert.Equal(7, (await state.ReadAsync()).Number);

        // A graceful stop marks that silo dead; the cluster (as the client sees it) shrinks to one.
        var leaving = silos[1];
        var leavingAddress = leaving.Services.GetRequiredService<ILocalSiloDetails>().SiloAddress;
        await _hosts.StopAsync(leaving);
        Assert.Equal(Dead, await StatusAsync(cs, clusterId, leavingAddress));
        hosts = await JobsHarness.EventuallyAsync(
            () => management.GetHosts(onlyActive: true), h => h.Count == 1, TimeSpan.FromSeconds(30));
        Assert.Equal([silos[0].Services.GetRequiredService<ILocalSiloDetails>().SiloAddress], hosts.Keys);
    }

    [Fact]
    public async Task A_silo_refuses_to_start_when_a_named_query_is_missing()
    {
        // The negative control for the start tests above: the providers do check the schema at start.
        var cs = await db.CreateDatabaseAsync();
        await using (var source = Npgsql.NpgsqlDataSource.Create(cs))
        {
            await JobMigrations.RunAsync(source);
            await using var delete = source.CreateCommand("DELETE FROM orleansquery WHERE querykey = 'UpsertReminderRowKey'");
            Assert.Equal(1, await delete.ExecuteNonQueryAsync());
        }

        var error = await Assert.ThrowsAsync<ArgumentException>(
            () => _hosts.StartSiloAsync(cs, FoundationHosts.NewClusterId(), "job-foundation"));
        Assert.Contains("UpsertReminderRowKey", error.Message, StringComparison.Ordinal);
    }

    private static Task<int> StatusAsync(string cs, string clusterId, SiloAddress address) =>
        FoundationHosts.ScalarAsync<int>(
            cs,
            "SELECT status FROM orleans_membership WHERE deployment_id = @d AND port = @p AND generation = @g",
            ("d", clusterId), ("p", address.Endpoint.Port), ("g", address.Generation));
}
