using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Job.Worker;

/// <summary>
/// Checks that run before anything starts (the HTTP server, the silo): Orleans ends the whole process
/// when a port is taken, and a silo that cannot reach its database fails deep inside its membership
/// provider. These fail first, each with one line naming the cause.
/// </summary>
internal sealed partial class JobWorkerPreflight(
    WorkerPorts ports,
    IOptions<WorkerOrleansOptions> orleans,
    IOptions<WorkerHealthOptions> health,
    IOptions<JobsOptions> jobs,
    ILogger<JobWorkerPreflight> logger) : IHostedLifecycleService
{
    public async Task StartingAsync(CancellationToken cancellationToken)
    {
        ReportAdvertisedAddress();
        CheckPorts();
        await CheckDatabaseAsync(cancellationToken).ConfigureAwait(false);
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private void ReportAdvertisedAddress()
    {
        var options = orleans.Value;
        if (options.AdvertisedReason is not { } reason)
        {
            return;
        }

        if (options.AdvertisedFellBack)
        {
            LogAdvertisedFallback(options.AdvertisedIP!, reason);
        }
        else
        {
            LogAdvertised(options.AdvertisedIP!, reason);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Orleans:AdvertisedIP is auto: advertising {Address} ({Reason}).")]
    private partial void LogAdvertised(string address, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Orleans:AdvertisedIP is auto but no route to the database was found ({Reason}): advertising {Address}, which workers on other hosts cannot reach. Set Orleans:AdvertisedIP to the address they reach this one at.")]
    private partial void LogAdvertisedFallback(string address, string reason);

    private void CheckPorts()
    {
        using var silo = Probe(ports.ListenAddress, ports.SiloPort, "silo");
        using var gateway = Probe(ports.ListenAddress, ports.GatewayPort, "gateway");
        if (health.Value.Port != 0)
        {
            using var http = Probe(health.Value.ListenAddress(orleans.Value), health.Value.Port, "health");
        }
    }

    private async Task CheckDatabaseAsync(CancellationToken cancellationToken)
    {
        var options = jobs.Value;
        try
        {
            if (options.DataSource is { } dataSource)
            {
                await using var command = dataSource.CreateCommand("SELECT 1");
                await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
                return;
            }

            await using var connection = new NpgsqlConnection(options.ConnectionString);
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (PostgresException ex)
        {
            throw new JobWorkerStartupException($"the job database refused the connection: {ex.MessageText}", ex);
        }
        catch (Exception ex) when (ex is NpgsqlException or SocketException or TimeoutException)
        {
            var socket = ex as SocketException ?? ex.InnerException as SocketException;
            var reason = socket is not null ? JobWorkerErrors.SocketText(socket)
                : ex is TimeoutException || ex.InnerException is TimeoutException ? "timed out"
                : "the connection failed";
            throw new JobWorkerStartupException($"cannot connect to PostgreSQL{JobWorkerErrors.At(options.DataSource?.ConnectionString ?? options.ConnectionString)}: {reason}", ex);
        }
    }

    private static TcpListener Probe(IPAddress address, int port, string what)
    {
        var listener = new TcpListener(address, port);
        try
        {
            listener.Start();
            return listener;
        }
        catch (SocketException ex)
        {
            listener.Dispose();
            throw ex.SocketErrorCode switch
            {
                SocketError.AddressAlreadyInUse => new JobWorkerStartupException($"{what} port {port} is already in use"),
                SocketError.AddressNotAvailable => new JobWorkerStartupException(
                    $"cannot listen on {address}:{port} for the {what} port: {address} is not an address of this machine"),
                SocketError.AccessDenied => new JobWorkerStartupException($"{what} port {port} needs privileges this process lacks (use a port above 1023)"),
                _ => new JobWorkerStartupException($"cannot listen on {address}:{port} for the {what} port: {ex.Message}", ex),
            };
        }
    }
}
