using System.Diagnostics;
using System.Globalization;

namespace Job.Silo.Embedded;

/// <summary>
/// The PostgreSQL server running on a data directory, read from its <c>postmaster.pid</c>: the
/// postmaster's pid (which must be a live postgres process, else the file is stale), its port and the
/// address it listens on.
/// </summary>
/// <param name="Pid">The postmaster's process id.</param>
/// <param name="Port">Its TCP port.</param>
/// <param name="Host">Where to connect: 127.0.0.1 unless it listens on one other address only.</param>
internal sealed record RunningServer(int Pid, int Port, string Host)
{
    /// <summary>Returns the server running on <paramref name="pgData"/>, or null when none is.</summary>
    public static RunningServer? Find(string pgData)
    {
        string[] lines;
        try
        {
            lines = File.ReadAllLines(Path.Combine(pgData, "postmaster.pid"));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        // Lines: pid, data directory, start time, port, socket directory, listen addresses, shared memory key, status.
        if (lines.Length < 4
            || !int.TryParse(lines[0].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
            || !int.TryParse(lines[3].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var port)
            || !IsPostgres(pid))
        {
            return null;
        }

        var listen = lines.Length > 5 ? lines[5].Trim() : "";
        var host = listen is "" or "*" or "localhost" or "127.0.0.1" || listen.Contains("127.0.0.1", StringComparison.Ordinal) || listen.Contains(',', StringComparison.Ordinal)
            ? "127.0.0.1"
            : listen;
        return new RunningServer(pid, port, host);
    }

    private static bool IsPostgres(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited && process.ProcessName is "postgres" or "postmaster";
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }
}
