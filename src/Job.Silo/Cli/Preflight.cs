using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace Job.Silo.Cli;

/// <summary>
/// Checks done before the host starts. Orleans aborts the whole process (exit 134) when a port is taken
/// or a provider query is missing, so these fail first, with one clear line.
/// </summary>
internal static class Preflight
{
    /// <summary>
    /// Binds and releases each port the silo will listen on; a 0 port is replaced by a free one.
    /// </summary>
    /// <returns>The silo and gateway ports to use.</returns>
    /// <exception cref="SiloStartupException">A port is in use, or the address is not this machine's.</exception>
    public static (int SiloPort, int GatewayPort) CheckPorts(SiloSettings settings)
    {
        var address = settings.ListenOnAnyHostAddress ? IPAddress.Any : settings.AdvertisedIP;
        if (settings.SiloPort != 0 && settings.SiloPort == settings.GatewayPort)
        {
            throw new SiloStartupException($"Orleans:SiloPort and Orleans:GatewayPort must differ (both are {settings.SiloPort}).");
        }

        // A 0 port becomes a free one outside the ephemeral range; both stay bound until both are known.
        var free = global::Job.Hosting.FreePorts.Take(2, address);
        using var siloListener = Probe(address, settings.SiloPort == 0 ? free[0] : settings.SiloPort, "silo");
        using var gatewayListener = Probe(address, settings.GatewayPort == 0 ? free[1] : settings.GatewayPort, "gateway");
        var siloPort = ((IPEndPoint)siloListener.LocalEndpoint).Port;
        var gatewayPort = ((IPEndPoint)gatewayListener.LocalEndpoint).Port;

        if (settings.HealthPort != 0)
        {
            if (settings.HealthPort == siloPort || settings.HealthPort == gatewayPort)
            {
                throw new SiloStartupException($"Health:Port {settings.HealthPort} is also the silo or gateway port; pick another.");
            }

            using var health = Probe(IPAddress.Any, settings.HealthPort, "health");
        }

        return (siloPort, gatewayPort);
    }

    /// <summary>Connects, then applies missing migrations (which also proves the Orleans queries are there).</summary>
    /// <returns>The names of the migrations applied.</returns>
    /// <exception cref="SiloStartupException">The database is unreachable, refuses us, or cannot be migrated.</exception>
    public static async Task<IReadOnlyList<string>> MigrateAsync(string connectionString, CancellationToken cancellationToken)
    {
        try
        {
            await using var dataSource = NpgsqlDataSource.Create(connectionString);
            return await JobMigrations.RunAsync(dataSource, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is NpgsqlException or JobMigrationException or SocketException or TimeoutException)
        {
            throw new SiloStartupException(StartupErrors.Describe(ex, connectionString), ex);
        }
    }

    private static TcpListener Probe(IPAddress address, int port, string what)
    {
        var listener = new TcpListener(address, port);
        try
        {
            listener.Start();
            return listener;
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            listener.Dispose();
            throw new SiloStartupException($"{what} port {port} is already in use");
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.AddressNotAvailable)
        {
            listener.Dispose();
            throw new SiloStartupException($"cannot listen on {address}:{port} for the {what} port: {address} is not an address of this machine (check Orleans:AdvertisedIP)");
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.AccessDenied)
        {
            listener.Dispose();
            throw new SiloStartupException($"{what} port {port} needs privileges this process lacks (use a port above 1023)");
        }
    }
}
