using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Job.Tests.Infrastructure;

/// <summary>The relay the half-open connection tests use: it relays, and a blackhole is silent in
/// both directions, ends no connection, and spares connections made afterwards.</summary>
public sealed class TcpProxyTests
{
    private static readonly TimeSpan Silence = TimeSpan.FromMilliseconds(500);

    [Fact]
    public async Task A_blackhole_silences_open_connections_without_closing_them_and_spares_new_ones()
    {
        await using var echo = EchoServer.Start();
        await using var proxy = TcpProxy.Start("127.0.0.1", echo.Port);

        using var before = await ConnectAsync(proxy.Port);
        Assert.Equal("one", await RoundTripAsync(before, "one"));

        Assert.Equal(1, proxy.Blackhole());

        // Nothing comes back, and the connection is not closed either (a read would return 0 at a FIN
        // and throw at an RST): the read is still waiting when it gives up.
        await SendAsync(before, "two");
        Assert.Null(await ReceiveWithinAsync(before, Silence));

        // The server's end closing is not passed on either.
        echo.CloseAll();
        Assert.Null(await ReceiveWithinAsync(before, Silence));

        using var after = await ConnectAsync(proxy.Port);
        Assert.Equal("three", await RoundTripAsync(after, "three"));
    }

    private static async Task<Socket> ConnectAsync(int port)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, port);
        return socket;
    }

    private static async Task SendAsync(Socket socket, string text) =>
        await socket.SendAsync(Encoding.ASCII.GetBytes(text), SocketFlags.None);

    private static async Task<string> RoundTripAsync(Socket socket, string text)
    {
        await SendAsync(socket, text);
        var received = new StringBuilder();
        while (received.Length < text.Length)
        {
            var chunk = await ReceiveWithinAsync(socket, TimeSpan.FromSeconds(10));
            Assert.False(string.IsNullOrEmpty(chunk), $"the relay closed or stayed silent after '{received}'");
            received.Append(chunk);
        }

        return received.ToString();
    }

    // The bytes received within the time (empty at end of stream), or null when none came.
    private static async Task<string?> ReceiveWithinAsync(Socket socket, TimeSpan within)
    {
        var buffer = new byte[256];
        using var timeout = new CancellationTokenSource(within);
        try
        {
            var read = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
            return Encoding.ASCII.GetString(buffer, 0, read);
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    private sealed class EchoServer : IAsyncDisposable
    {
        private readonly TcpListener _listener;
        private readonly List<Socket> _accepted = [];
        private readonly Lock _gate = new();
        private readonly Task _accepting;

        private EchoServer()
        {
            _listener = new TcpListener(IPAddress.Loopback, 0);
            _listener.Start();
            Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
            _accepting = AcceptAsync();
        }

        public int Port { get; }

        public static EchoServer Start() => new();

        public void CloseAll()
        {
            lock (_gate)
            {
                foreach (var socket in _accepted)
                {
                    socket.Dispose();
                }

                _accepted.Clear();
            }
        }

        private async Task AcceptAsync()
        {
            while (true)
            {
                Socket socket;
                try
                {
                    socket = await _listener.AcceptSocketAsync();
                }
                catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
                {
                    return;
                }

                lock (_gate)
                {
                    _accepted.Add(socket);
                }

                _ = EchoAsync(socket);
            }
        }

        private static async Task EchoAsync(Socket socket)
        {
            var buffer = new byte[256];
            try
            {
                int read;
                while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None)) > 0)
                {
                    await socket.SendAsync(buffer.AsMemory(0, read), SocketFlags.None);
                }
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                // closed by the test
            }
        }

        public async ValueTask DisposeAsync()
        {
            _listener.Stop();
            await _accepting;
            CloseAll();
        }
    }
}
