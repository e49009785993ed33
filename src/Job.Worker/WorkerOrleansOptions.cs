using System.Net;
using Job.Hosting;
using Microsoft.Extensions.Options;

namespace Job.Worker;

/// <summary>
/// Where this worker's Orleans silo sits in the cluster, bound from the <c>Orleans</c> section. Every
/// worker on one database with the same <see cref="ClusterId"/> forms one cluster and shares its jobs.
/// </summary>
public sealed class WorkerOrleansOptions
{
    /// <summary>The configuration section: <c>Orleans</c>.</summary>
    public const string SectionName = "Orleans";

    /// <summary>Silos with the same cluster id on one database form one cluster. Default <c>job</c>,
    /// as for every Job entry point.</summary>
    public string ClusterId { get; set; } = JobsSiloBuilderExtensions.DefaultClusterId;

    /// <summary>Part of the keys of reminders and grain state: keep it stable across deploys. Default <c>job</c>.</summary>
    public string ServiceId { get; set; } = JobsSiloBuilderExtensions.DefaultClusterId;

    /// <summary>The silo-to-silo port. 0 takes a free port. Default 11111.</summary>
    public int SiloPort { get; set; } = 11111;

    /// <summary>The port Orleans clients connect to. 0 takes a free port. Default 30000.</summary>
    public int GatewayPort { get; set; } = 30000;

    /// <summary>The address other silos and clients reach this one at. Unset or <c>auto</c> (the
    /// default): this host's address on its route to the database server, as the facade does, since
    /// every worker reaches that server and so most likely each other through the same network;
    /// loopback when the database is on this host's loopback or a Unix socket. With an address other
    /// than loopback the silo listens on every interface (containers, pods, several machines).</summary>
    public string? AdvertisedIP { get; set; }

    /// <summary>How an <c>auto</c> address was chosen, for the start-up log; null when it was configured.</summary>
    internal string? AdvertisedReason { get; private set; }

    /// <summary>True when <c>auto</c> found no route to the database and took loopback although the
    /// database is elsewhere: workers on other hosts cannot reach this one.</summary>
    internal bool AdvertisedFellBack { get; private set; }

    /// <summary>Resolves an unset or <c>auto</c> address for the database at <paramref name="connectionString"/>.</summary>
    internal void ResolveAdvertisedIP(string? connectionString)
    {
        if (!string.IsNullOrWhiteSpace(AdvertisedIP) && !string.Equals(AdvertisedIP, Auto, StringComparison.OrdinalIgnoreCase))
        {
            return;
        }

        var choice = AdvertisedAddress.ForDatabase(connectionString ?? "");
        AdvertisedIP = choice.Address.ToString();
        AdvertisedReason = choice.Reason;
        AdvertisedFellBack = choice.FellBack;
    }

    /// <summary>The value that asks for the address on the route to the database.</summary>
    public const string Auto = "auto";

    /// <summary>The advertised address, parsed; loopback when it does not parse (the validator reports that).</summary>
    internal IPAddress Address => IPAddress.TryParse(AdvertisedIP, out var address) ? address : IPAddress.Loopback;

    /// <summary>True when the silo advertises a loopback address: a one-machine setup.</summary>
    internal bool IsLoopback => IPAddress.IsLoopback(Address);

    internal static readonly StrictConfigurationSection<WorkerOrleansOptions> Section = new(SectionName, new Dictionary<string, Action<WorkerOrleansOptions, string, string>>
    {
        [nameof(ClusterId)] = (o, _, v) => o.ClusterId = v,
        [nameof(ServiceId)] = (o, _, v) => o.ServiceId = v,
        [nameof(SiloPort)] = (o, k, v) => o.SiloPort = StrictConfigurationSection<WorkerOrleansOptions>.Int(k, v),
        [nameof(GatewayPort)] = (o, k, v) => o.GatewayPort = StrictConfigurationSection<WorkerOrleansOptions>.Int(k, v),
        [nameof(AdvertisedIP)] = (o, _, v) => o.AdvertisedIP = v,
    });
}

/// <summary>The rules for <see cref="WorkerOrleansOptions"/>, run when the host starts; each failure names its key.</summary>
public sealed class WorkerOrleansOptionsValidator : IValidateOptions<WorkerOrleansOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, WorkerOrleansOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.ClusterId))
        {
            failures.Add("Orleans:ClusterId must not be empty.");
        }

        if (string.IsNullOrWhiteSpace(options.ServiceId))
        {
            failures.Add("Orleans:ServiceId must not be empty.");
        }

        foreach (var (key, port) in new[] { ("Orleans:SiloPort", options.SiloPort), ("Orleans:GatewayPort", options.GatewayPort) })
        {
            if (port is < 0 or > 65535)
            {
                failures.Add($"{key} must be a port from 1 to 65535, or 0 for a free one.");
            }
        }

        if (options.SiloPort != 0 && options.SiloPort == options.GatewayPort)
        {
            failures.Add($"Orleans:SiloPort and Orleans:GatewayPort must differ (both are {options.SiloPort}).");
        }

        var isAuto = string.IsNullOrWhiteSpace(options.AdvertisedIP) || string.Equals(options.AdvertisedIP, WorkerOrleansOptions.Auto, StringComparison.OrdinalIgnoreCase);
        if (!isAuto && (!IPAddress.TryParse(options.AdvertisedIP, out var address) || address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any)))
        {
            failures.Add("Orleans:AdvertisedIP must be the IP address other silos reach this one at, such as 10.0.0.5 (not a host name, not 0.0.0.0), or auto.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
