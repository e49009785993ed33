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
        var siloPort = Probe(address, settings.SiloPort, "silo");
        var gatewayPort = Probe(address, settings.GatewayPort, "gateway");
        if (siloPort == gatewayPort)
        {
            throw new SiloStartupException($"Orleans:SiloPort and Orleans:GatewayPort must differ (both are {siloPort}).");
        }

        if (settings.HealthPort != 0)
        {
            if (settings.HealthPort == siloPort || settings.HealthPort == gatewayPort)
            {
                throw new SiloStartupException($"Health:Port {settings.HealthPort} is also the silo or gateway port; pick another.");
            }

            Probe(IPAddress.Any, settings.HealthPort, "health");
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

    private static int Probe(IPAddress address, int port, string what)
    {
        var listener = new TcpListener(address, port);
        try
        {
            listener.Start();
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            throw new SiloStartupException($"{what} port {port} is already in use");
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.AddressNotAvailable)
        {
            throw new SiloStartupException($"cannot listen on {address}:{port} for the {what} port: {address} is not an address of this machine (check Orleans:AdvertisedIP)");
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.AccessDenied)
        {
            throw new SiloStartupException($"{what} port {port} needs privileges this process lacks (use a port above 1023)");
        }
        finally
        {
            listener.Stop();
        }
    }
}
