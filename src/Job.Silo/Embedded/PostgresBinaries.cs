using System.Diagnostics;

namespace Job.Silo.Embedded;

/// <summary>Where this machine's PostgreSQL server binaries are, looked for in the order a user expects.</summary>
internal static class PostgresBinaries
{
    /// <summary>The folder with initdb, pg_ctl and postgres: <paramref name="explicitDir"/> when given, else
    /// JOB_PG_BIN, pg_config, the newest /usr/lib/postgresql/*/bin, PATH; null when none has them.</summary>
    /// <param name="explicitDir">The folder a caller named (<see cref="LocalPostgresOptions.BinDirectory"/>).</param>
    /// <param name="searched">Receives each place looked at, for the error that lists them.</param>
    public static string? Find(string? explicitDir, List<string> searched)
    {
        if (!string.IsNullOrWhiteSpace(explicitDir))
        {
            searched.Add($"BinDirectory option ({explicitDir})");
            return HasServerBinaries(explicitDir) ? Path.GetFullPath(explicitDir) : null;
        }

        var env = Environment.GetEnvironmentVariable("JOB_PG_BIN");
        if (!string.IsNullOrWhiteSpace(env))
        {
            searched.Add($"JOB_PG_BIN ({env})");
            return HasServerBinaries(env) ? Path.GetFullPath(env) : null;
        }

        searched.Add("pg_config --bindir");
        var pgConfig = ToolProcess.FindExecutable("pg_config");
        if (pgConfig is not null)
        {
            try
            {
                using var p = Process.Start(ToolProcess.CreateStartInfo(pgConfig, ["--bindir"], null));
                if (p is not null)
                {
                    p.StandardInput.Close();
                    var output = p.StandardOutput.ReadToEnd().Trim();
                    if (p.WaitForExit(10_000) && p.ExitCode == 0 && HasServerBinaries(output))
                    {
                        return output;
                    }
                }
            }
            catch (Exception e) when (e is System.ComponentModel.Win32Exception or IOException or InvalidOperationException)
            {
                // Fall through to the other locations.
            }
        }

        const string debianRoot = "/usr/lib/postgresql";
        searched.Add(debianRoot + "/*/bin");
        if (Directory.Exists(debianRoot))
        {
            var best = Directory.EnumerateDirectories(debianRoot)
                .Select(d => (Dir: Path.Combine(d, "bin"), Version: ParseVersion(Path.GetFileName(d))))
                .Where(x => x.Version is not null && HasServerBinaries(x.Dir))
                .OrderByDescending(x => x.Version)
                .Select(x => x.Dir)
                .FirstOrDefault();
            if (best is not null)
            {
                return best;
            }
        }

        searched.Add("PATH");
        var initdb = ToolProcess.FindExecutable("initdb");
        if (initdb is not null)
        {
            var resolved = File.ResolveLinkTarget(initdb, returnFinalTarget: true)?.FullName ?? initdb;
            foreach (var dir in new[] { Path.GetDirectoryName(resolved), Path.GetDirectoryName(initdb) })
            {
                if (dir is not null && HasServerBinaries(dir))
                {
                    return dir;
                }
            }
        }

        return null;
    }

    private static Version? ParseVersion(string name) =>
        Version.TryParse(name.Contains('.', StringComparison.Ordinal) ? name : name + ".0", out var v) ? v : null;

    private static bool HasServerBinaries(string dir)
    {
        var ext = OperatingSystem.IsWindows() ? ".exe" : "";
        return Directory.Exists(dir) && new[] { "initdb", "pg_ctl", "postgres" }.All(n => File.Exists(Path.Combine(dir, n + ext)));
    }
}
