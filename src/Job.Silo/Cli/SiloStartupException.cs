using System.Net.Sockets;
using System.Reflection;
using Npgsql;

namespace Job.Silo.Cli;

/// <summary>A startup problem whose message is already the one line the user should see.</summary>
internal sealed class SiloStartupException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Turns an exception chain into the one line that says what went wrong.</summary>
internal static class StartupErrors
{
    /// <summary>
    /// Describes <paramref name="exception"/> in one line: PostgreSQL errors as the server words them,
    /// connection failures with host and port, otherwise the innermost meaningful message.
    /// </summary>
    /// <param name="exception">What was thrown.</param>
    /// <param name="connectionString">The connection string in use, to name the server in connection errors.</param>
    public static string Describe(Exception exception, string? connectionString = null)
    {
        var chain = Chain(exception).ToList();
        if (chain.OfType<SiloStartupException>().FirstOrDefault() is { } startup)
        {
            return OneLine(startup.Message);
        }

        if (chain.OfType<PostgresException>().FirstOrDefault() is { } pg)
        {
            return OneLine(pg.MessageText);
        }

        if (chain.OfType<NpgsqlException>().Any())
        {
            var where = Server(connectionString);
            if (chain.OfType<SocketException>().FirstOrDefault() is { } socket)
            {
                return $"cannot connect to PostgreSQL at {where}: {Lower(SocketText(socket))}";
            }

            if (chain.OfType<TimeoutException>().Any())
            {
                return $"cannot connect to PostgreSQL at {where}: timed out";
            }
        }

        if (chain.OfType<SocketException>().FirstOrDefault() is { SocketErrorCode: SocketError.AddressAlreadyInUse } inUse)
        {
            return OneLine(inUse.Message);
        }

        // The innermost exception usually carries the cause; wrappers only say "startup failed".
        var innermost = chain.LastOrDefault(e => e is not AggregateException and not TargetInvocationException && !string.IsNullOrWhiteSpace(e.Message))
            ?? exception;
        return OneLine(innermost.Message);
    }

    private static IEnumerable<Exception> Chain(Exception exception)
    {
        for (Exception? e = exception; e is not null;)
        {
            yield return e;
            e = e is AggregateException { InnerExceptions.Count: > 0 } agg ? agg.InnerExceptions[0] : e.InnerException;
        }
    }

    private static string SocketText(SocketException socket) => socket.SocketErrorCode switch
    {
        SocketError.ConnectionRefused => "connection refused",
        SocketError.HostNotFound or SocketError.NoData => "host not found",
        SocketError.TimedOut => "timed out",
        SocketError.NetworkUnreachable or SocketError.HostUnreachable => "unreachable",
        _ => socket.Message,
    };

    private static string Server(string? connectionString)
    {
        try
        {
            var b = new NpgsqlConnectionStringBuilder(connectionString ?? "");
            return $"{b.Host ?? "localhost"}:{b.Port}";
        }
        catch (ArgumentException)
        {
            return "the configured server";
        }
    }

    private static string Lower(string text) =>
        text.Length > 1 && char.IsUpper(text[0]) && !char.IsUpper(text[1]) ? char.ToLowerInvariant(text[0]) + text[1..] : text;

    private static string OneLine(string text)
    {
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return lines.Length == 0 ? "unknown error" : lines[0];
    }
}
