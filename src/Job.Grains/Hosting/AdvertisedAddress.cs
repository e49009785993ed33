using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace Job.Hosting;

/// <summary>
/// The address a silo advertises to the others when none is configured: the address of this machine's
/// interface that routes to the database server. Every silo of a cluster reaches the same database, so
/// the interface facing it is the one the other silos can most likely reach too; loopback (the old
/// default) works only while every silo runs on one host, and silos on two hosts then cannot probe each
/// other. Loopback stays the answer when the database is on this host's loopback or Unix socket.
/// </summary>
internal static class AdvertisedAddress
{
    private const int DefaultPostgresPort = 5432;

    /// <summary>The chosen address and why, for a log line: it names the database host, never the
    /// connection string (which may hold a password).</summary>
    /// <param name="Address">The address to advertise.</param>
    /// <param name="Reason">How it was chosen.</param>
    /// <param name="FellBack">True when nothing better was found and loopback was taken although the
    /// database is not on this host's loopback: silos on other hosts cannot reach this one.</param>
    internal readonly record struct Choice(IPAddress Address, string Reason, bool FellBack);

    /// <summary>
    /// Chooses the address for a database given by its connection string (for a shared
    /// <see cref="NpgsqlDataSource"/>, its <see cref="NpgsqlDataSource.ConnectionString"/>, which keeps the
    /// host). Never throws: when the host cannot be resolved or routed to, it falls back to loopback and
    /// says so in <see cref="Choice.FellBack"/>.
    /// </summary>
    public static Choice ForDatabase(string connectionString)
    {
        string host;
        int port;
        try
        {
            var builder = new NpgsqlConnectionStringBuilder(connectionString);
            host = FirstHost(builder.Host, out var hostPort);
            port = hostPort ?? (builder.Port > 0 ? builder.Port : DefaultPostgresPort);
        }
        catch (ArgumentException)
        {
            return new Choice(IPAddress.Loopback, "the connection string could not be read", FellBack: true);
        }

        if (host.Length == 0)
        {
            return new Choice(IPAddress.Loopback, "the connection string names no database host", FellBack: true);
        }

        if (host[0] is '/' or '@')
        {
            return new Choice(IPAddress.Loopback, "the database is reached through a Unix socket on this host", FellBack: false);
        }

        if (string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase)
            || (IPAddress.TryParse(host, out var literal) && IPAddress.IsLoopback(literal)))
        {
            return new Choice(IPAddress.Loopback, $"the database host '{host}' is this host's loopback", FellBack: false);
        }

        try
        {
            var target = Resolve(host);
            if (IPAddress.IsLoopback(target))
            {
                return new Choice(IPAddress.Loopback, $"the database host '{host}' resolves to loopback ({target})", FellBack: false);
            }

            // Connecting a UDP socket sends nothing: the kernel only picks the route, and with it the source address.
            using var probe = new Socket(target.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
            probe.Connect(new IPEndPoint(target, port));
            var local = ((IPEndPoint)probe.LocalEndPoint!).Address;
            if (local.IsIPv4MappedToIPv6)
            {
                local = local.MapToIPv4();
            }

            var named = host == target.ToString() ? $"'{host}'" : $"'{host}' ({target})";
            return local.Equals(IPAddress.Any) || local.Equals(IPAddress.IPv6Any)
                ? new Choice(IPAddress.Loopback, $"no local address routes to the database host {named}", FellBack: true)
                : new Choice(local, $"this host's address on the route to the database host {named}", FellBack: false);
        }
        catch (SocketException e)
        {
            return new Choice(IPAddress.Loopback, $"the database host '{host}' could not be resolved or routed to ({e.SocketErrorCode})", FellBack: true);
        }
        catch (ArgumentException)
        {
            return new Choice(IPAddress.Loopback, $"the database host '{host}' is not a valid host name", FellBack: true);
        }
    }

    // Npgsql takes "host1,host2:5433,[::1]:5434": the first one is the primary's or the likeliest.
    private static string FirstHost(string? hosts, out int? port)
    {
        port = null;
        var first = (hosts ?? "").Split(',')[0].Trim();
        if (first.StartsWith('['))
        {
            var end = first.IndexOf(']', StringComparison.Ordinal);
            if (end > 0)
            {
                port = ParsePort(first[(end + 1)..].TrimStart(':'));
                return first[1..end];
            }
        }

        var colon = first.IndexOf(':', StringComparison.Ordinal);
        if (colon > 0 && colon == first.LastIndexOf(':') && !first.StartsWith('/'))
        {
            port = ParsePort(first[(colon + 1)..]);
            return first[..colon];
        }

        return first;
    }

    private static int? ParsePort(string text) =>
        int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var port) && port is > 0 and <= 65535
            ? port
            : null;

    // IPv4 first: a dual-stack database host is most often reached, and its silos reach each other, over IPv4.
    private static IPAddress Resolve(string host)
    {
        if (IPAddress.TryParse(host, out var literal))
        {
            return literal;
        }

        var addresses = Dns.GetHostAddresses(host);
        return addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork)
            ?? addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetworkV6)
            ?? throw new SocketException((int)SocketError.HostNotFound);
    }
}
