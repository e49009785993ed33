using System.Net;
using Job.Hosting;
using Microsoft.Extensions.Options;

namespace Job.Worker;

/// <summary>
/// The silo and gateway ports this worker uses, decided once: a configured 0 becomes a free port
/// outside the ephemeral range, so Orleans and the start-up checks agree on the same numbers.
/// </summary>
internal sealed class WorkerPorts
{
    public WorkerPorts(IOptions<WorkerOrleansOptions> options)
    {
        var orleans = options.Value;
        ListenAddress = orleans.IsLoopback ? orleans.Address : IPAddress.Any;
        var free = orleans.SiloPort == 0 || orleans.GatewayPort == 0 ? FreePorts.Take(2, ListenAddress) : [0, 0];
        SiloPort = orleans.SiloPort == 0 ? free[0] : orleans.SiloPort;
        GatewayPort = orleans.GatewayPort == 0 ? free[1] : orleans.GatewayPort;
    }

    /// <summary>Where the silo listens: the advertised loopback address, or every interface.</summary>
    public IPAddress ListenAddress { get; }

    public int SiloPort { get; }

    public int GatewayPort { get; }
}
