using System.Net;
using System.Net.Sockets;

namespace Job.TestSilo;

/// <summary>Free loopback ports for test silos (this process and the test suite, which references it).</summary>
public static class FreePorts
{
    /// <summary>Returns <paramref name="count"/> distinct free ports. Their listeners are held open
    /// together, so the operating system cannot hand out one port twice.</summary>
    public static int[] Take(int count)
    {
        var listeners = Enumerable.Range(0, count).Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToArray();
        try
        {
            foreach (var listener in listeners)
            {
                listener.Start();
            }

            return listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port).ToArray();
        }
        finally
        {
            foreach (var listener in listeners)
            {
                listener.Dispose();
            }
        }
    }
}
