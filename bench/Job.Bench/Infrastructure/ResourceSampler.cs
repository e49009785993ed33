using System.Diagnostics;
using System.Globalization;

namespace Job.Bench.Infrastructure;

/// <summary>CPU time of this process and of the PostgreSQL server (all its processes), and RSS.</summary>
public sealed class ResourceSampler(string pgDataDirectory)
{
    private static readonly double s_ticksPerSecond = 100.0; // USER_HZ on Linux

    /// <summary>A point-in-time reading.</summary>
    public readonly record struct Sample(long Timestamp, TimeSpan ProcessCpu, TimeSpan PostgresCpu);

    /// <summary>Usage between two samples.</summary>
    public readonly record struct Usage(double WallSeconds, double ProcessCpuSeconds, double PostgresCpuSeconds)
    {
        /// <summary>Cores used on average (2 = both cores of this machine).</summary>
        public double ProcessCores => WallSeconds > 0 ? ProcessCpuSeconds / WallSeconds : 0;
        public double PostgresCores => WallSeconds > 0 ? PostgresCpuSeconds / WallSeconds : 0;
    }

    public Sample Take()
    {
        using var self = Process.GetCurrentProcess();
        return new Sample(Stopwatch.GetTimestamp(), self.TotalProcessorTime, PostgresCpu());
    }

    public static Usage Between(Sample a, Sample b) => new(
        Stopwatch.GetElapsedTime(a.Timestamp, b.Timestamp).TotalSeconds,
        (b.ProcessCpu - a.ProcessCpu).TotalSeconds,
        (b.PostgresCpu - a.PostgresCpu).TotalSeconds);

    /// <summary>Resident set size of this process (VmRSS), in MB.</summary>
    public static double RssMegabytes()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    var kb = long.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture);
                    return kb / 1024.0;
                }
            }
        }
        catch (IOException)
        {
        }

        return Environment.WorkingSet / (1024.0 * 1024.0);
    }

    /// <summary>CPU time (user + system) of another process, from /proc/&lt;pid&gt;/stat; null once it is gone.</summary>
    public static TimeSpan? ProcessCpu(int pid) =>
        TryReadStat(pid) is { } stat ? TimeSpan.FromSeconds((stat.UTime + stat.STime) / s_ticksPerSecond) : null;

    /// <summary>Resident set size now (VmRSS) and its peak (VmHWM) of a process, in MB; zeros once it is gone.</summary>
    public static (double RssMb, double PeakRssMb) Memory(int pid)
    {
        double rss = 0, peak = 0;
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    rss = Kb(line) / 1024.0;
                }
                else if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                {
                    peak = Kb(line) / 1024.0;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }

        return (rss, peak);

        static long Kb(string line) => long.Parse(line.AsSpan(line.IndexOf(':', StringComparison.Ordinal) + 1).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture);
    }

    /// <summary>The load average (1/5/15 min) as "a/b/c", or "?".</summary>
    public static string LoadAverage()
    {
        try
        {
            var parts = File.ReadAllText("/proc/loadavg").Split(' ');
            return $"{parts[0]}/{parts[1]}/{parts[2]}";
        }
        catch (IOException)
        {
            return "?";
        }
    }

    // The postmaster's own time plus its reaped children (cutime/cstime), plus its live children.
    private TimeSpan PostgresCpu()
    {
        try
        {
            var pidFile = Path.Combine(pgDataDirectory, "pgdata", "postmaster.pid");
            if (!File.Exists(pidFile))
            {
                return TimeSpan.Zero;
            }

            var postmaster = int.Parse(File.ReadLines(pidFile).First().Trim(), CultureInfo.InvariantCulture);
            long ticks = 0;
            foreach (var dir in Directory.EnumerateDirectories("/proc"))
            {
                if (!int.TryParse(Path.GetFileName(dir), out var pid))
                {
                    continue;
                }

                var stat = TryReadStat(pid);
                if (stat is null)
                {
                    continue;
                }

                var (ppid, utime, stime, cutime, cstime) = stat.Value;
                if (pid == postmaster)
                {
                    ticks += utime + stime + cutime + cstime;
                }
                else if (ppid == postmaster)
                {
                    ticks += utime + stime;
                }
            }

            return TimeSpan.FromSeconds(ticks / s_ticksPerSecond);
        }
        catch (IOException)
        {
            return TimeSpan.Zero;
        }
    }

    private static (int PPid, long UTime, long STime, long CUTime, long CSTime)? TryReadStat(int pid)
    {
        string text;
        try
        {
            text = File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        // Fields after the command name, which is in parentheses and may contain spaces.
        var fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
        // fields[0] = state (field 3); ppid = field 4; utime..cstime = fields 14..17.
        return (int.Parse(fields[1], CultureInfo.InvariantCulture),
            long.Parse(fields[11], CultureInfo.InvariantCulture),
            long.Parse(fields[12], CultureInfo.InvariantCulture),
            long.Parse(fields[13], CultureInfo.InvariantCulture),
            long.Parse(fields[14], CultureInfo.InvariantCulture));
    }
}
