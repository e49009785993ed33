using System.Diagnostics;

namespace Job.Silo.Embedded;

/// <summary>Runs the server's tools (initdb, pg_ctl, chown, id) as child processes.</summary>
internal static class ToolProcess
{
    /// <summary>A start with every stream redirected and server messages in English (the log-tail checks read them).</summary>
    public static ProcessStartInfo CreateStartInfo(string file, IEnumerable<string> args, string? workingDirectory)
    {
        var psi = new ProcessStartInfo(file)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workingDirectory ?? "",
        };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        // Server messages in a predictable language for the log-tail checks.
        psi.Environment["LC_MESSAGES"] = "C";
        return psi;
    }

    /// <summary>Runs a tool to its end (or kills it after <paramref name="timeout"/>) and returns its exit code and output.</summary>
    /// <exception cref="LocalPostgresException">The tool could not be started, or did not finish in time.</exception>
    public static async Task<ToolResult> RunAsync(string file, IReadOnlyList<string> args, string? workingDirectory, TimeSpan timeout, CancellationToken ct)
    {
        using var process = new Process { StartInfo = CreateStartInfo(file, args, workingDirectory) };
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new LocalPostgresException($"Could not run '{file}': {e.Message}", e);
        }

        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // Already exited.
            }

            ct.ThrowIfCancellationRequested();
            throw new LocalPostgresException($"'{Path.GetFileName(file)} {string.Join(' ', args)}' did not finish within {timeout}.");
        }

        string output;
        try
        {
            // A grandchild holding our pipes must not hang us; the exit code is what matters.
            await Task.WhenAll(stdout, stderr).WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None).ConfigureAwait(false);
            output = (stdout.Result + stderr.Result).Trim();
        }
        catch (TimeoutException)
        {
            output = "(output unavailable)";
        }

        return new ToolResult(process.ExitCode, output);
    }

    /// <summary>The first file named <paramref name="name"/> on PATH or in <paramref name="extraDirs"/>, or null.</summary>
    public static string? FindExecutable(string name, params string[] extraDirs)
    {
        var ext = OperatingSystem.IsWindows() ? ".exe" : "";
        var path = Environment.GetEnvironmentVariable("PATH") ?? "";
        return path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Concat(extraDirs)
            .Select(d => Path.Combine(d, name + ext))
            .FirstOrDefault(File.Exists);
    }
}

/// <summary>What a tool returned: its exit code and its output (stdout, then stderr).</summary>
/// <param name="ExitCode">The exit code.</param>
/// <param name="Output">Both streams, trimmed.</param>
internal sealed record ToolResult(int ExitCode, string Output);
