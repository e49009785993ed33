using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Job.Worker;

/// <summary>Says where the dashboard answers once the server listens, so an operator need not guess the address.</summary>
internal sealed partial class WorkerDashboardAnnouncement(IOptions<WorkerDashboardOptions> options, ILogger<WorkerDashboardAnnouncement> logger) : IHostedLifecycleService
{
    public Task StartedAsync(CancellationToken cancellationToken)
    {
        var o = options.Value;
        var host = o.ListenAddress.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{o.ListenAddress}]" : o.ListenAddress.ToString();
        LogDashboard(logger, $"http://{host}:{o.Port}/", o.AllowActions ? "actions on" : "read-only");
        return Task.CompletedTask;
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Information, Message = "Job dashboard: {Url} ({Mode})")]
    private static partial void LogDashboard(ILogger logger, string url, string mode);
}
