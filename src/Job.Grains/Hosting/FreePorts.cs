using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Job.Hosting;

/// <summary>
/// Free TCP ports for listeners this process opens later (a silo, a gateway, a private PostgreSQL).
/// Ports are taken outside the kernel's ephemeral range (<c>ip_local_port_range</c>, 32768–60999 on
/// Linux): a port handed out by the kernel for "port 0" lies inside that range, so an outgoing
/// client socket of any process can take it between the pick and the bind.
/// </summary>
internal static class FreePorts
{
    private const int Lowest = 10000;

    /// <summary>Returns <paramref name="count"/> distinct ports that were free on
    /// <paramref name="address"/> (loopback by default). Their probe listeners are held open
    /// together, so one port is never returned twice.</summary>
    public static int[] Take(int count, IPAddress? address = null)
    {
        var (ephemeralLow, ephemeralHigh) = EphemeralRange();
        var candidates = Enumerable.Range(Lowest, ephemeralLow - Lowest)
            .Concat(Enumerable.Range(ephemeralHigh + 1, Math.Max(0, 65535 - ephemeralHigh)))
            .ToArray();
        Random.Shared.Shuffle(candidates);

        var held = new List<TcpListener>(count);
        try
        {
            foreach (var port in candidates)
            {
                if (held.Count == count)
                {
                    break;
                }

                var listener = new TcpListener(address ?? IPAddress.Loopback, port);
                try
                {
                    listener.Start();
                    held.Add(listener);
                }
                catch (SocketException)
                {
                    listener.Dispose();
                }
            }

            return held.Count == count
                ? [.. held.Select(l => ((IPEndPoint)l.LocalEndpoint).Port)]
                : throw new InvalidOperationException($"Could not find {count} free TCP ports outside the ephemeral range {ephemeralLow}–{ephemeralHigh}.");
        }
        finally
        {
            foreach (var listener in held)
            {
                listener.Dispose();
            }
        }
    }

    /// <summary>The kernel's range for outgoing sockets; Linux's default when it cannot be read.</summary>
    internal static (int Low, int High) EphemeralRange()
    {
        try
        {
            var parts = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range")
                .Split((char[])['\t', ' ', '\n'], StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 2
                && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var low)
                && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var high)
                && low > Lowest && high >= low && high <= 65535)
            {
                return (low, high);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Not Linux, or no /proc: assume Linux's default.
        }

        return (32768, 60999);
    }
}
