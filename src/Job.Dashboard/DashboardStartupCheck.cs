using System.Net;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Job.Dashboard;

/// <summary>
/// Fail closed: once the server listens (its addresses are known only then), a dashboard without
/// <see cref="JobDashboardOptions.AuthorizationPolicy"/> whose server listens on any address but
/// loopback stops the host's start with <see cref="JobDashboardSecurityException"/>. Each request
/// is checked too (MapJobDashboard): without a policy only loopback callers are served.
/// </summary>
internal sealed class DashboardStartupCheck(IServiceProvider services, IOptions<JobDashboardOptions> options) : IHostedLifecycleService
{
    public Task StartedAsync(CancellationToken cancellationToken)
    {
        var o = options.Value;
        if (o.AuthorizationPolicy is not null)
        {
            return Task.CompletedTask;
        }

        var addresses = services.GetService<IServer>()?.Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        var open = addresses.Where(a => !IsLoopback(a, o.Port, out var matches) && matches).ToList();
        if (open.Count > 0)
        {
            throw new JobDashboardSecurityException(
                $"The Job dashboard would answer on {string.Join(", ", open)}, which is not loopback, without an authorization policy. " +
                "Set JobDashboardOptions.AuthorizationPolicy to a policy of this application (see the README: mounting and securing the dashboard), " +
                "or serve it on loopback only.");
        }

        return Task.CompletedTask;
    }

    /// <summary>True when the address is a loopback one; <paramref name="matches"/> says whether it serves the dashboard's port.</summary>
    internal static bool IsLoopback(string address, int? port, out bool matches)
    {
        matches = true;
        if (!BindingAddress.TryParse(address, out var host, out var boundPort))
        {
            return false;
        }

        if (port is { } p && boundPort != p)
        {
            matches = false;
            return true;
        }

        return host == "localhost" || (IPAddress.TryParse(host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip));
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>Host and port of a server address such as <c>http://127.0.0.1:5000</c> or <c>http://[::]:80</c>.</summary>
internal static class BindingAddress
{
    public static bool TryParse(string address, out string host, out int port)
    {
        host = "";
        port = 0;
        var schemeEnd = address.IndexOf("://", StringComparison.Ordinal);
        var rest = schemeEnd < 0 ? address : address[(schemeEnd + 3)..];
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        if (slash >= 0)
        {
            rest = rest[..slash];
        }

        var colon = rest.LastIndexOf(':');
        if (colon < 0 || rest.EndsWith(']'))
        {
            host = rest;
            port = address.StartsWith("https", StringComparison.OrdinalIgnoreCase) ? 443 : 80;
            return rest.Length > 0;
        }

        host = rest[..colon];
        return int.TryParse(rest[(colon + 1)..], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out port);
    }
}
