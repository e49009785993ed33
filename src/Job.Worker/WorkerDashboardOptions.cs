using System.Net;
using Microsoft.Extensions.Options;

namespace Job.Worker;

/// <summary>
/// The Job dashboard on a worker, bound from the <c>Dashboard</c> section: off until
/// <see cref="Port"/> is set; then served at <c>http://ADDRESS:PORT/</c> on loopback, read-only unless
/// <see cref="AllowActions"/>. A worker has no authorization policy to protect it with, so it never
/// serves the dashboard off loopback (it refuses to start): mount it in an application of your own
/// with a policy (<c>app.MapJobDashboard</c>), or reach the worker's through a tunnel or port-forward.
/// </summary>
public sealed class WorkerDashboardOptions
{
    /// <summary>The configuration section: <c>Dashboard</c>.</summary>
    public const string SectionName = "Dashboard";

    /// <summary>The dashboard's HTTP port; unset (the default) serves no dashboard.</summary>
    public int? Port { get; set; }

    /// <summary>The address to listen on. Default <c>127.0.0.1</c>; anything but loopback stops the start.</summary>
    public string Address { get; set; } = "127.0.0.1";

    /// <summary>Let the dashboard retry, cancel, delete, pause and resume. Default false (read-only).</summary>
    public bool AllowActions { get; set; }

    /// <summary>The address to listen on, parsed.</summary>
    internal IPAddress ListenAddress => IPAddress.TryParse(Address, out var address) ? address : IPAddress.Loopback;

    internal static readonly StrictConfigurationSection<WorkerDashboardOptions> Section = new(SectionName, new Dictionary<string, Action<WorkerDashboardOptions, string, string>>
    {
        [nameof(Port)] = (o, k, v) => o.Port = StrictConfigurationSection<WorkerDashboardOptions>.Int(k, v),
        [nameof(Address)] = (o, _, v) => o.Address = v,
        [nameof(AllowActions)] = (o, k, v) => o.AllowActions = StrictConfigurationSection<WorkerDashboardOptions>.Bool(k, v),
    });
}

/// <summary>The rules for <see cref="WorkerDashboardOptions"/>, run when the host starts.</summary>
public sealed class WorkerDashboardOptionsValidator(IOptions<WorkerHealthOptions> health) : IValidateOptions<WorkerDashboardOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, WorkerDashboardOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (options.Port is < 1 or > 65535)
        {
            failures.Add("Dashboard:Port must be a port from 1 to 65535 (unset: no dashboard).");
        }
        else if (options.Port is { } port && port == health.Value.Port)
        {
            failures.Add($"Dashboard:Port {port} is also Health:Port; pick another.");
        }

        if (!IPAddress.TryParse(options.Address, out var address))
        {
            failures.Add("Dashboard:Address must be an IP address to listen on, such as 127.0.0.1.");
        }
        else if (!IPAddress.IsLoopback(address))
        {
            failures.Add("Dashboard:Address must be a loopback address: a worker has no authorization policy to protect the dashboard with. Mount it in your own application with one (app.MapJobDashboard), or reach this one through a tunnel.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
