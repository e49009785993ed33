using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Job.Hosting;
using Npgsql;

namespace Job.Tests.Runtime;

/// <summary>The facade's default advertised address: the interface that routes to the database
/// (the cross-host proof is <c>Cluster.CrossHostTests</c>).</summary>
public sealed class AdvertisedAddressTests
{
    [Theory]
    [InlineData("Host=/var/run/postgresql")]
    [InlineData("Host=localhost;Port=5433")]
    [InlineData("Host=127.0.0.1")]
    [InlineData("Host=::1")]
    [InlineData("Host=[::1]:5433")]
    [InlineData("Host=127.0.0.1:5433,db.invalid")]
    public void A_database_on_this_hosts_loopback_or_socket_gives_loopback(string connectionString)
    {
        var choice = AdvertisedAddress.ForDatabase(connectionString);
        Assert.Equal(IPAddress.Loopback, choice.Address);
        Assert.False(choice.FellBack, choice.Reason);
    }

    [Fact]
    public void A_database_at_one_of_this_hosts_addresses_gives_that_address()
    {
        var own = NetworkInterface.GetAllNetworkInterfaces()
            .Where(n => n.OperationalStatus == OperationalStatus.Up)
            .SelectMany(n => n.GetIPProperties().UnicastAddresses)
            .Select(a => a.Address)
            .FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a));
        if (own is null)
        {
            return; // a host with loopback only: nothing to route to
        }

        var choice = AdvertisedAddress.ForDatabase($"Host={own};Port=5432;Username=app;Password=secret");
        Assert.Equal(own, choice.Address);
        Assert.False(choice.FellBack, choice.Reason);
        Assert.Contains(own.ToString(), choice.Reason);
    }

    [Fact]
    public void A_worker_left_on_auto_advertises_its_route_to_the_database_and_a_configured_address_stays()
    {
        var unset = new global::Job.Worker.WorkerOrleansOptions();
        unset.ResolveAdvertisedIP("Host=localhost;Username=app;Password=hunter2");
        Assert.Equal("127.0.0.1", unset.AdvertisedIP);

        var own = NetworkInterface.GetAllNetworkInterfaces()
            .Where(n => n.OperationalStatus == OperationalStatus.Up)
            .SelectMany(n => n.GetIPProperties().UnicastAddresses)
            .Select(a => a.Address)
            .FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a));
        if (own is not null)
        {
            var auto = new global::Job.Worker.WorkerOrleansOptions { AdvertisedIP = "AUTO" };
            auto.ResolveAdvertisedIP($"Host={own};Username=app;Password=hunter2");
            Assert.Equal(own.ToString(), auto.AdvertisedIP);
            Assert.DoesNotContain("hunter2", auto.AdvertisedReason);
        }

        var configured = new global::Job.Worker.WorkerOrleansOptions { AdvertisedIP = "10.1.2.3" };
        configured.ResolveAdvertisedIP("Host=localhost");
        Assert.Equal("10.1.2.3", configured.AdvertisedIP);
        Assert.Null(configured.AdvertisedReason);
    }

    [Fact]
    public void A_host_that_cannot_be_resolved_falls_back_to_loopback_and_says_so_without_the_password()
    {
        var choice = AdvertisedAddress.ForDatabase("Host=db.invalid;Username=app;Password=hunter2");
        Assert.Equal(IPAddress.Loopback, choice.Address);
        Assert.True(choice.FellBack);
        Assert.Contains("db.invalid", choice.Reason);
        Assert.DoesNotContain("hunter2", choice.Reason);
    }

    [Fact]
    public void A_shared_data_source_still_shows_its_host()
    {
        using var dataSource = NpgsqlDataSource.Create("Host=localhost;Username=app;Password=hunter2");
        var choice = AdvertisedAddress.ForDatabase(dataSource.ConnectionString);
        Assert.Equal(IPAddress.Loopback, choice.Address);
        Assert.False(choice.FellBack, choice.Reason);
    }

    [Fact]
    public void The_builder_leaves_the_address_to_the_database_route_unless_an_endpoint_is_given()
    {
        Assert.Null(JobSvcConfig.Builder().PgCon("Host=x").Build().AdvertisedAddress);
        var address = IPAddress.Parse("10.0.0.7");
        Assert.Equal(address, JobSvcConfig.Builder().PgCon("Host=x").Endpoint(address).Build().AdvertisedAddress);
        Assert.Throws<ArgumentNullException>(() => JobSvcConfig.Builder().Endpoint(null!));
    }
}
