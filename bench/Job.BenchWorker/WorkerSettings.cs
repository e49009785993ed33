using System.Globalization;
using Microsoft.Extensions.Logging;

namespace Job.BenchWorker;

/// <summary>
/// The worker's settings: each from its command-line switch (<c>--max-jobs 16</c> or
/// <c>--max-jobs=16</c>), else its environment variable (<c>JOB_BENCH_WORKER_MAX_JOBS</c>), else the default.
/// </summary>
public sealed record WorkerSettings
{
    /// <summary>Every setting: switch, environment variable, meaning.</summary>
    public static readonly IReadOnlyList<(string Switch, string Env, string Help)> Keys =
    [
        ("--connection-string", "JOB_BENCH_WORKER_CONNECTION_STRING", "PostgreSQL connection string (required)"),
        ("--cluster", "JOB_BENCH_WORKER_CLUSTER", "Orleans cluster id (default job-bench)"),
        ("--service", "JOB_BENCH_WORKER_SERVICE", "Orleans service id (default job-bench)"),
        ("--max-jobs", "JOB_BENCH_WORKER_MAX_JOBS", "MaxJobsPerProcess (default 50)"),
        ("--min-jobs", "JOB_BENCH_WORKER_MIN_JOBS", "MinJobsPerProcess (default min(30, 3/5 of max))"),
        ("--tenant-types", "JOB_BENCH_WORKER_TENANT_TYPES", "also register N no-op types tenant-0 … tenant-(N-1) (default 0)"),
        ("--silo-port", "JOB_BENCH_WORKER_SILO_PORT", "silo port on 127.0.0.1; 0 = a free port (default 0)"),
        ("--gateway-port", "JOB_BENCH_WORKER_GATEWAY_PORT", "gateway port on 127.0.0.1; 0 = a free port (default 0)"),
        ("--label", "JOB_BENCH_WORKER_LABEL", "silo name in logs (default worker)"),
        ("--log-level", "JOB_BENCH_WORKER_LOG_LEVEL", "minimum log level, logs go to stderr (default Warning)"),
        ("--exit-on-stdin-eof", "JOB_BENCH_WORKER_EXIT_ON_STDIN_EOF", "true: stop when stdin closes, so a worker never outlives its parent (default false)"),
        ("--silo-only", "JOB_BENCH_WORKER_SILO_ONLY", "true: the same host and Orleans silo with the PostgreSQL providers and pool AddJobs configures, and nothing of Job's: the floor under a worker's start (default false)"),
    ];

    public required string ConnectionString { get; init; }
    public string ClusterId { get; init; } = "job-bench";
    public string ServiceId { get; init; } = "job-bench";
    public int MaxJobs { get; init; } = 50;
    public int MinJobs { get; init; } = 30;
    public int TenantTypes { get; init; }
    public int SiloPort { get; init; }
    public int GatewayPort { get; init; }
    public string Label { get; init; } = "worker";
    public LogLevel LogLevel { get; init; } = LogLevel.Warning;
    public bool ExitOnStdinEof { get; init; }

    /// <summary>An Orleans silo with Job's PostgreSQL providers (clustering, grain storage, reminders) and
    /// nothing of Job's runtime: what any Orleans worker on this database costs to start.</summary>
    public bool SiloOnly { get; init; }

    public static string Usage =>
        "Usage: dotnet Job.BenchWorker.dll --connection-string \"…\" [options]\n" +
        string.Join('\n', Keys.Select(k => $"  {k.Switch,-22} {k.Env,-38} {k.Help}")) +
        "\nPrints \"READY key=value …\" once the silo is up (it polls from silo start; with --silo-only, it has no job type and runs nothing). Commands on stdin, one per line: " +
        "RUNS (prints \"RUNS total=… noop=… start=… tenant=…\"), STATS (prints \"STATS {json}\"), STOP. " +
        "SIGTERM or Ctrl-C stops it gracefully.";

    /// <exception cref="ArgumentException">An unknown switch, a missing or malformed value.</exception>
    public static WorkerSettings Parse(IReadOnlyList<string> args)
    {
        var given = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            var eq = arg.IndexOf('=', StringComparison.Ordinal);
            var name = eq > 0 ? arg[..eq] : arg;
            if (Keys.All(k => k.Switch != name))
            {
                throw new ArgumentException($"Unknown argument '{arg}'.");
            }

            given[name] = eq > 0 ? arg[(eq + 1)..]
                : i + 1 < args.Count ? args[++i]
                : throw new ArgumentException($"{name} needs a value.");
        }

        string? Get(string name)
        {
            if (given.TryGetValue(name, out var v))
            {
                return v;
            }

            var env = Environment.GetEnvironmentVariable(Keys.First(k => k.Switch == name).Env);
            return string.IsNullOrEmpty(env) ? null : env;
        }

        int Int(string name, int fallback, int min)
        {
            var s = Get(name);
            if (s is null)
            {
                return fallback;
            }

            return int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= min
                ? n
                : throw new ArgumentException($"{name} must be an integer ≥ {min} (it is '{s}').");
        }

        bool Bool(string name)
        {
            var s = Get(name);
            return s is null ? false
                : bool.TryParse(s, out var b) ? b
                : throw new ArgumentException($"{name} must be true or false (it is '{s}').");
        }

        var max = Int("--max-jobs", 50, 1);
        var settings = new WorkerSettings
        {
            ConnectionString = Get("--connection-string") ?? throw new ArgumentException("--connection-string (or JOB_BENCH_WORKER_CONNECTION_STRING) is required."),
            ClusterId = Get("--cluster") ?? "job-bench",
            ServiceId = Get("--service") ?? "job-bench",
            MaxJobs = max,
            MinJobs = Int("--min-jobs", Math.Max(1, Math.Min(30, max * 3 / 5)), 1),
            TenantTypes = Int("--tenant-types", 0, 0),
            SiloPort = Int("--silo-port", 0, 0),
            GatewayPort = Int("--gateway-port", 0, 0),
            Label = Get("--label") ?? "worker",
            LogLevel = Get("--log-level") is { } level
                ? Enum.TryParse<LogLevel>(level, ignoreCase: true, out var parsed) ? parsed : throw new ArgumentException($"--log-level '{level}' is not a log level (Trace … None).")
                : LogLevel.Warning,
            ExitOnStdinEof = Bool("--exit-on-stdin-eof"),
            SiloOnly = Bool("--silo-only"),
        };
        if (settings.MinJobs > settings.MaxJobs)
        {
            throw new ArgumentException($"--min-jobs ({settings.MinJobs}) cannot exceed --max-jobs ({settings.MaxJobs}).");
        }

        return settings;
    }
}
