using System.Net.Sockets;
using System.Reflection;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Job.Worker;

/// <summary>
/// Turns a failed start into the one line an operator reads (<c>error: …</c>), so an entry point
/// prints that instead of a stack trace. Connection strings never appear: the messages it picks
/// come from Job's own errors, PostgreSQL's message text, or the socket layer.
/// </summary>
public static class JobWorkerErrors
{
    /// <summary>Describes <paramref name="exception"/> in one line: Job's configuration and startup
    /// errors as they are, options failures naming their keys, PostgreSQL errors as the server words
    /// them, Job's other errors as they are, otherwise the innermost meaningful message.</summary>
    /// <param name="exception">What was thrown.</param>
    /// <param name="connectionString">The connection string in use, if any: only its host and port
    /// are used, to say which server could not be reached.</param>
    public static string Describe(Exception exception, string? connectionString = null)
    {
        ArgumentNullException.ThrowIfNull(exception);
        var chain = Chain(exception).ToList();
        if (chain.FirstOrDefault(e => e is JobWorkerStartupException or JobsConfigurationException or JobMigrationException) is { } job)
        {
            return OneLine(job.Message);
        }

        if (chain.OfType<OptionsValidationException>().FirstOrDefault() is { } options)
        {
            // The runtime's rules name JobsOptions' properties; in a worker they are configuration keys.
            var failure = options.Failures.FirstOrDefault() ?? options.Message;
            return OneLine(failure.StartsWith("JobsOptions.", StringComparison.Ordinal) ? "Jobs:" + failure["JobsOptions.".Length..] : failure);
        }

        if (chain.OfType<PostgresException>().FirstOrDefault() is { } pg)
        {
            // A refused login (28xxx: password, role; 3D000: no such database) reads as a worker's start says it.
            return OneLine(pg.SqlState.StartsWith("28", StringComparison.Ordinal) || pg.SqlState == PostgresErrorCodes.InvalidCatalogName
                ? $"the job database refused the connection: {pg.MessageText}"
                : pg.MessageText);
        }

        if (chain.OfType<NpgsqlException>().Any())
        {
            if (chain.OfType<SocketException>().FirstOrDefault() is { } socket)
            {
                return $"cannot connect to PostgreSQL{At(connectionString)}: {SocketText(socket)}";
            }

            if (chain.OfType<TimeoutException>().Any())
            {
                return $"cannot connect to PostgreSQL{At(connectionString)}: timed out";
            }
        }

        // Kestrel: "Failed to bind to address http://127.0.0.1:8080: address already in use."
        if (chain.OfType<IOException>().FirstOrDefault(e => e.Message.StartsWith("Failed to bind", StringComparison.Ordinal)) is { } bind)
        {
            return OneLine(bind.Message);
        }

        // Job's own errors are worded for the operator (a bad cron expression or time zone in a declared
        // schedule, a bad job type): not the library message they wrap.
        if (chain.OfType<JobException>().FirstOrDefault() is { } own)
        {
            return OneLine(own.Message);
        }

        var innermost = chain.LastOrDefault(e => e is not AggregateException and not TargetInvocationException && !string.IsNullOrWhiteSpace(e.Message))
            ?? exception;
        return OneLine(innermost.Message);
    }

    /// <summary>Describes a socket failure in a few words.</summary>
    internal static string SocketText(SocketException socket) => socket.SocketErrorCode switch
    {
        SocketError.ConnectionRefused => "connection refused",
        SocketError.HostNotFound or SocketError.NoData or SocketError.TryAgain => "host not found",
        SocketError.TimedOut => "timed out",
        SocketError.NetworkUnreachable or SocketError.HostUnreachable => "unreachable",
        _ => socket.Message,
    };

    /// <summary>" at host:port" of a connection string, or nothing when there is none or it does not parse.</summary>
    internal static string At(string? connectionString)
    {
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            return "";
        }

        try
        {
            var builder = new NpgsqlConnectionStringBuilder(connectionString);
            return $" at {builder.Host ?? "localhost"}:{builder.Port}";
        }
        catch (ArgumentException)
        {
            return "";
        }
    }

    private static IEnumerable<Exception> Chain(Exception exception)
    {
        for (Exception? e = exception; e is not null;)
        {
            yield return e;
            e = e is AggregateException { InnerExceptions.Count: > 0 } agg ? agg.InnerExceptions[0] : e.InnerException;
        }
    }

    private static string OneLine(string text)
    {
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return lines.Length == 0 ? "unknown error" : lines[0];
    }
}
