using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Job.Silo.Health;

/// <summary>
/// A tiny HTTP/1.1 server for Kubernetes probes, without ASP.NET: <c>GET /healthz</c> answers 200 while
/// the process is up (liveness); <c>GET /readyz</c> answers 200 when the silo is Active and a
/// <c>SELECT 1</c> on the job database succeeds, 503 otherwise (readiness). Every response closes the
/// connection. It starts before the silo, so liveness holds while the silo starts.
/// </summary>
internal sealed partial class HealthEndpoint : IHostedService, IDisposable
{
    private const int MaxRequestBytes = 8192;
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(5);

    private readonly int _port;
    private readonly SiloReadiness _readiness;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly ILogger<HealthEndpoint> _logger;
    private readonly NpgsqlDataSource _database;
    private readonly CancellationTokenSource _stop = new();
    private TcpListener? _listener;
    private Task _acceptLoop = Task.CompletedTask;

    public HealthEndpoint(int port, string connectionString, SiloReadiness readiness, IHostApplicationLifetime lifetime, ILogger<HealthEndpoint> logger)
    {
        _port = port;
        _readiness = readiness;
        _lifetime = lifetime;
        _logger = logger;
        // A pool of its own, small and quick to give up, so a probe never waits behind job traffic.
        _database = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(connectionString)
        {
            MaxPoolSize = 2,
            Timeout = 3,
            CommandTimeout = 3,
            ApplicationName = "job-silo-health",
        }.ConnectionString);
    }

    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken)
    {
        _listener = new TcpListener(IPAddress.Any, _port);
        _listener.Start();
        _acceptLoop = AcceptLoopAsync(_listener, _stop.Token);
        LogListening(_port);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _listener?.Stop();
        await _acceptLoop.ConfigureAwait(false);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _stop.Dispose();
        _listener?.Dispose();
        _database.Dispose();
    }

    private async Task AcceptLoopAsync(TcpListener listener, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await listener.AcceptTcpClientAsync(ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException || ct.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException ex)
            {
                LogAcceptFailed(ex);
                continue;
            }

            _ = Task.Run(() => ServeAsync(client, ct), CancellationToken.None);
        }
    }

    private async Task ServeAsync(TcpClient client, CancellationToken stopping)
    {
        using var _ = client;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        timeout.CancelAfter(RequestTimeout);
        try
        {
            var stream = client.GetStream();
            var requestLine = await ReadRequestLineAsync(stream, timeout.Token).ConfigureAwait(false);
            var (status, body) = await RespondToAsync(requestLine, timeout.Token).ConfigureAwait(false);
            var head = requestLine?.StartsWith("HEAD ", StringComparison.Ordinal) == true;
            var bytes = Encoding.UTF8.GetBytes(body + "\n");
            var response = new StringBuilder()
                .Append("HTTP/1.1 ").Append(status).Append(' ').Append(Reason(status)).Append("\r\n")
                .Append("Content-Type: text/plain; charset=utf-8\r\n")
                .Append("Content-Length: ").Append(bytes.Length).Append("\r\n")
                .Append("Cache-Control: no-store\r\n")
                .Append("Connection: close\r\n\r\n")
                .ToString();
            await stream.WriteAsync(Encoding.ASCII.GetBytes(response), timeout.Token).ConfigureAwait(false);
            if (!head)
            {
                await stream.WriteAsync(bytes, timeout.Token).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The prober went away or was too slow: nothing to answer.
        }
    }

    /// <summary>Reads the request head (up to the blank line) and returns its first line, or null if malformed.</summary>
    private static async Task<string?> ReadRequestLineAsync(NetworkStream stream, CancellationToken ct)
    {
        var buffer = new byte[MaxRequestBytes];
        var length = 0;
        while (length < buffer.Length)
        {
            var read = await stream.ReadAsync(buffer.AsMemory(length), ct).ConfigureAwait(false);
            if (read == 0)
            {
                break;
            }

            length += read;
            if (buffer.AsSpan(0, length).IndexOf("\r\n\r\n"u8) >= 0)
            {
                break;
            }
        }

        var text = Encoding.ASCII.GetString(buffer, 0, length);
        var end = text.IndexOf("\r\n", StringComparison.Ordinal);
        return end > 0 ? text[..end] : null;
    }

    private async Task<(int Status, string Body)> RespondToAsync(string? requestLine, CancellationToken ct)
    {
        var parts = requestLine?.Split(' ');
        if (parts is not { Length: 3 } || !parts[2].StartsWith("HTTP/1.", StringComparison.Ordinal))
        {
            return (400, "bad request");
        }

        var path = parts[1].Split('?', 2)[0];
        if (path is not ("/healthz" or "/readyz"))
        {
            return (404, "not found: try /healthz or /readyz");
        }

        if (parts[0] is not ("GET" or "HEAD"))
        {
            return (405, "method not allowed");
        }

        if (path == "/healthz")
        {
            return (200, "ok");
        }

        if (!_readiness.IsActive || _lifetime.ApplicationStopping.IsCancellationRequested)
        {
            return (503, "silo not active");
        }

        try
        {
            await using var command = _database.CreateCommand("SELECT 1");
            await command.ExecuteScalarAsync(ct).ConfigureAwait(false);
            return (200, "ready");
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException or OperationCanceledException or SocketException)
        {
            return (503, "database unavailable: " + Cli.StartupErrors.Describe(ex, _database.ConnectionString));
        }
    }

    private static string Reason(int status) => status switch
    {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        _ => "Service Unavailable",
    };

    [LoggerMessage(Level = LogLevel.Information, Message = "Health endpoint on port {Port}: GET /healthz (liveness), GET /readyz (readiness).")]
    private partial void LogListening(int port);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Health endpoint: accepting a connection failed.")]
    private partial void LogAcceptFailed(Exception exception);
}
