using Job.Common;
using Job.Hosting;
using Microsoft.Extensions.Logging;

namespace Job.Notifications;

/// <summary>
/// The silo's one connection in LISTEN on the runtime's channels (a <see cref="PostgresListener"/>:
/// reconnects with backoff, detects a half-open connection by a timed round trip, and makes
/// everybody look again after a reconnect), feeding <see cref="JobNotifications"/>, so a committed
/// spawn wakes the dispatcher at once without busy polling.
/// </summary>
internal sealed class JobNotificationListener(JobRuntime runtime, JobNotifications notifications, ILogger<JobNotificationListener> logger)
{
    public Task RunAsync(CancellationToken ct) =>
        new PostgresListener(runtime.SessionDataSource, JobNotifications.Channels, notifications.Route, notifications.OnListening, runtime.DataSource.Clear, logger).RunAsync(ct);
}
