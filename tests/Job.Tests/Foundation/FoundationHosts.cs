using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;
using Orleans.Configuration;
using Orleans.Hosting;

namespace Job.Tests.Foundation;

/// <summary>
/// Builds real silos (AddJobs on PostgreSQL) and real clients (AdoNet clustering) for the foundation
/// tests, and stops every host it started.
/// </summary>
internal sealed class FoundationHosts : IAsyncDisposable
{
    private readonly List<IHost> _hosts = [];

    /// <summary>A ClusterId no earlier run used (dead membership rows linger for days).</summary>
    public static string NewClusterId() => $"test-{Guid.NewGuid():N}";

    public async Task<IHost> StartSiloAsync(string connectionString, string clusterId, string serviceId, Action<ISiloBuilder>? configure = null)
    {
        var ports = global::Job.Hosting.FreePorts.Take(2);
        var (siloPort, gatewayPort) = (ports[0], ports[1]);
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.UseOrleans(silo =>
        {
            silo.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = clusterId;
                o.ServiceId = serviceId;
            });
            silo.ConfigureEndpoints(IPAddress.Loopback, siloPort, gatewayPort, listenOnAnyHostAddress: false);
            silo.AddJobs(o => o.ConnectionString = connectionString);
            configure?.Invoke(silo);
        });
        return await StartAsync(builder.Build()).ConfigureAwait(false);
    }

    public async Task<IHost> StartClientAsync(string connectionString, string clusterId, string serviceId)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.UseOrleansClient(client =>
        {
            client.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = clusterId;
                o.ServiceId = serviceId;
            });
            client.UseAdoNetClustering(o =>
            {
                o.Invariant = "Npgsql";
                o.ConnectionString = connectionString;
            });
        });
        return await StartAsync(builder.Build()).ConfigureAwait(false);
    }

    /// <summary>Stops one host now (graceful: the silo marks itself Dead in the membership table).</summary>
    public async Task StopAsync(IHost host)
    {
        _hosts.Remove(host);
        try
        {
            // Generous: a stop cut short is not graceful, and the tests assert the silo left as Dead.
            await host.StopAsync(TimeSpan.FromSeconds(60)).ConfigureAwait(false);
        }
        finally
        {
            host.Dispose();
        }
    }

    public async ValueTask DisposeAsync()
    {
        // Clients first, then silos, latest first.
        for (var i = _hosts.Count - 1; i >= 0; i--)
        {
            var host = _hosts[i];
            try
            {
                await host.StopAsync(TimeSpan.FromSeconds(15)).ConfigureAwait(false);
            }
            catch (Exception)
            {
                // Best effort: a failed stop must not hide the test's own failure.
            }
            finally
            {
                host.Dispose();
            }
        }

        _hosts.Clear();
    }

    public static async Task<T> ScalarAsync<T>(string connectionString, string sql, params (string Name, object Value)[] parameters)
    {
        await using var conn = new NpgsqlConnection(connectionString);
        await conn.OpenAsync().ConfigureAwait(false);
        await using var cmd = new NpgsqlCommand(sql, conn);
        foreach (var (name, value) in parameters)
        {
            cmd.Parameters.AddWithValue(name, value);
        }

        var result = await cmd.ExecuteScalarAsync().ConfigureAwait(false);
        return (T)result!;
    }

    private async Task<IHost> StartAsync(IHost host)
    {
        try
        {
            await host.StartAsync().ConfigureAwait(false);
        }
        catch
        {
            host.Dispose();
            throw;
        }

        _hosts.Add(host);
        return host;
    }
}
