using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace Job.Tests.Infrastructure;

/// <summary>
/// A loopback TCP relay to a server (PostgreSQL in practice) that can play a NAT or load balancer
/// which silently dropped its state: <see cref="Blackhole"/> stops the bytes of every connection open
/// at that moment, in both directions, while both sockets stay open, so neither end gets a FIN or an
/// RST and a reader waits forever; connections accepted later are relayed normally. Bytes sent into a
/// blackholed connection are read and dropped (the relay's kernel acknowledges them where a NAT's
/// peer would not: the sender cannot tell, it only waits for an answer that never comes).
/// </summary>
public sealed class TcpProxy : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly string _targetHost;
    private readonly int _targetPort;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<Link, byte> _links = new();
    private readonly Task _accepting;
    private int _disposed;

    private TcpProxy(string targetHost, int targetPort)
    {
        _targetHost = targetHost;
        _targetPort = targetPort;
        Port = global::Job.Hosting.FreePorts.Take(1)[0];
        _listener = new TcpListener(IPAddress.Loopback, Port);
        _listener.Start();
        _accepting = AcceptLoopAsync();
    }

    /// <summary>The loopback port clients connect to.</summary>
    public int Port { get; }

    /// <summary>Connections accepted and not closed (blackholed ones stay open until the relay is disposed).</summary>
    public int OpenConnections => _links.Count;

    /// <summary>Starts relaying 127.0.0.1:<see cref="Port"/> to <paramref name="host"/>:<paramref name="port"/>.</summary>
    public static TcpProxy Start(string host, int port) => new(host, port);

    /// <summary>A relay to the server of a PostgreSQL connection string.</summary>
    public static TcpProxy ForPostgres(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        return Start(builder.Host ?? "127.0.0.1", builder.Port);
    }

    /// <summary>The same connection string, through this relay.</summary>
    public string Route(string connectionString) =>
        new NpgsqlConnectionStringBuilder(connectionString) { Host = "127.0.0.1", Port = Port }.ConnectionString;

    /// <summary>Silences every connection open now (both directions, sockets kept open); returns how many.</summary>
    public int Blackhole()
    {
        var count = 0;
        foreach (var link in _links.Keys)
        {
            link.Blackholed = true;
            count++;
        }

        return count;
    }

    /// <summary>Makes the server's bytes on every connection open now arrive <paramref name="delay"/>
    /// late (a slow network: nothing is lost, the order is kept); returns how many connections.</summary>
    public int DelayServerBytes(TimeSpan delay)
    {
        var count = 0;
        foreach (var link in _links.Keys)
        {
            link.ServerDelay = delay;
            count++;
        }

        return count;
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            _ = RelayAsync(client);
        }
    }

    private async Task RelayAsync(Socket client)
    {
        var server = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        client.NoDelay = true;
        var link = new Link(client, server);
        _links[link] = 0;
        try
        {
            await server.ConnectAsync(_targetHost, _targetPort, _stop.Token).ConfigureAwait(false);
            await Task.WhenAll(PumpAsync(link, client, server, fromServer: false), PumpAsync(link, server, client, fromServer: true)).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // The target refused, or the relay is stopping.
        }
        finally
        {
            if (!link.Blackholed || _stop.IsCancellationRequested)
            {
                _links.TryRemove(link, out _);
                link.Close();
            }
        }
    }

    // Relays one direction until either end closes. When the link is blackholed, bytes are dropped,
    // and an end that closes is not told to the other (a NAT that forgot the connection forwards no FIN):
    // the other socket stays open until the relay is disposed.
    private async Task PumpAsync(Link link, Socket from, Socket to, bool fromServer)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                var read = await from.ReceiveAsync(buffer, SocketFlags.None, _stop.Token).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                if (link.Blackholed)
                {
                    continue;
                }

                if (fromServer && link.ServerDelay > TimeSpan.Zero)
                {
                    await Task.Delay(link.ServerDelay, _stop.Token).ConfigureAwait(false);
                }

                await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None, _stop.Token).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // An end reset, or the relay is stopping.
        }

        if (!link.Blackholed)
        {
            link.Close(); // ends the other direction too
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        _listener.Stop();
        await _accepting.ConfigureAwait(false);
        foreach (var link in _links.Keys)
        {
            link.Close();
        }

        _links.Clear();
        _stop.Dispose();
    }

    private sealed class Link(Socket client, Socket server)
    {
        private int _closed;
        private volatile bool _blackholed;

        public bool Blackholed
        {
            get => _blackholed;
            set => _blackholed = value;
        }

        public TimeSpan ServerDelay { get; set; }

        public void Close()
        {
            if (Interlocked.Exchange(ref _closed, 1) == 0)
            {
                client.Dispose();
                server.Dispose();
            }
        }
    }
}
