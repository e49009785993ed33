using System.Diagnostics;
using System.Globalization;

namespace Job.Silo.Embedded;

/// <summary>
/// Stops a server whose owner process died without stopping it (SIGKILL, a crashed test host), so no
/// orphan server keeps running, and wipes a throwaway folder the owner did not get to delete.
/// </summary>
internal static class ServerWatchdog
{
    // A detached shell (own session, not our child, so neither Ctrl+C nor a process-tree kill reaches it) polls
    // the owner's pid; if the owner vanishes while the server runs, or after stopping it but before deleting a
    // throwaway folder (test hosts get killed mid-ProcessExit), it stops the server and wipes the folders.
    // Otherwise it exits on its own once the server is stopped and the folder is gone.
    private const string Script = """
        exec </dev/null >/dev/null 2>&1
        owner=$1; pidfile=$2; wipe1=$3; wipe2=$4; shift 4
        while kill -0 "$owner" && [ -f "$pidfile" ]; do sleep 0.5; done
        while kill -0 "$owner" && [ -n "$wipe1" ] && [ -d "$wipe1" ]; do sleep 0.5; done
        kill -0 "$owner" && exit 0
        [ -f "$pidfile" ] && "$@"
        [ -n "$wipe1" ] && rm -rf -- "$wipe1"
        [ -n "$wipe2" ] && rm -rf -- "$wipe2"
        exit 0
        """;

    /// <summary>Starts the watchdog of this process.</summary>
    /// <param name="pidFile">The server's postmaster.pid: while it exists, the server runs.</param>
    /// <param name="wipe">A folder to delete once the owner is gone ("" for none).</param>
    /// <param name="alsoWipe">A second such folder (the socket's, when it lives apart; "" for none).</param>
    /// <param name="runAs">What runs the stop command as the server's user (runuser …), or nothing.</param>
    /// <param name="stop">The command that stops the server (pg_ctl stop …).</param>
    /// <param name="ct">Cancels the start.</param>
    public static async Task StartAsync(string pidFile, string wipe, string alsoWipe, IReadOnlyList<string> runAs, IReadOnlyList<string> stop, CancellationToken ct)
    {
        var args = new List<string>();
        var setsid = ToolProcess.FindExecutable("setsid", "/usr/bin", "/bin");
        string file;
        if (setsid is not null)
        {
            file = setsid;
            args.Add("-f");
            args.Add("/bin/sh");
        }
        else
        {
            file = "/bin/sh";
        }

        args.AddRange(["-c", Script, "job-pg-watchdog", Environment.ProcessId.ToString(CultureInfo.InvariantCulture), pidFile, wipe, alsoWipe]);
        args.AddRange(runAs);
        args.AddRange(stop);

        if (setsid is not null)
        {
            await ToolProcess.RunAsync(file, args, "/", TimeSpan.FromSeconds(10), ct).ConfigureAwait(false);
        }
        else
        {
            using var p = Process.Start(ToolProcess.CreateStartInfo(file, args, "/"));
            p?.StandardInput.Close();
        }
    }
}
