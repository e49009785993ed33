using System.Net;
using Microsoft.Extensions.Options;

namespace Job.Worker;

/// <summary>
/// Where the worker's HTTP endpoints (<c>/healthz</c>, <c>/readyz</c>, <c>/metrics</c>) listen, bound
/// from the <c>Health</c> section. They answer unauthenticated callers, so by default a one-machine
/// setup (a loopback <c>Orleans:AdvertisedIP</c>) keeps them on loopback.
/// </summary>
public sealed class WorkerHealthOptions
{
    /// <summary>The configuration section: <c>Health</c>.</summary>
    public const string SectionName = "Health";

    /// <summary>The HTTP port. 0 takes a free port (the log says which). Default 8080.</summary>
    public int Port { get; set; } = 8080;

    /// <summary>The address to listen on, e.g. <c>0.0.0.0</c>, <c>::</c> or <c>127.0.0.1</c>. Unset: loopback
    /// when <see cref="WorkerOrleansOptions.AdvertisedIP"/> is loopback, every IPv4 interface otherwise.</summary>
    public string? Address { get; set; }

    /// <summary>The address to listen on, given the silo's advertised address.</summary>
    internal IPAddress ListenAddress(WorkerOrleansOptions orleans) =>
        Address is { } text && IPAddress.TryParse(text, out var address)
            ? address
            : orleans.IsLoopback ? IPAddress.Loopback : IPAddress.Any;

    internal static readonly StrictConfigurationSection<WorkerHealthOptions> Section = new(SectionName, new Dictionary<string, Action<WorkerHealthOptions, string, string>>
    {
        [nameof(Port)] = (o, k, v) => o.Port = StrictConfigurationSection<WorkerHealthOptions>.Int(k, v),
        [nameof(Address)] = (o, _, v) => o.Address = v,
    });
}

/// <summary>The rules for <see cref="WorkerHealthOptions"/>, run when the host starts.</summary>
public sealed class WorkerHealthOptionsValidator(IOptions<WorkerOrleansOptions> orleans) : IValidateOptions<WorkerHealthOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, WorkerHealthOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (options.Port is < 0 or > 65535)
        {
            failures.Add("Health:Port must be a port from 1 to 65535, or 0 for a free one.");
        }
        else if (options.Port != 0 && (options.Port == orleans.Value.SiloPort || options.Port == orleans.Value.GatewayPort))
        {
            failures.Add($"Health:Port {options.Port} is also the silo or gateway port; pick another.");
        }

        if (options.Address is { } address && !IPAddress.TryParse(address, out _))
        {
            failures.Add("Health:Address must be an IP address to listen on, such as 0.0.0.0, :: or 127.0.0.1.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
