using System.Globalization;
using Orleans.Configuration;

namespace Job.TestSilo;

/// <summary>The test silo's settings, all from environment variables (JOB_TEST_*).</summary>
internal sealed record TestSiloSettings
{
    /// <summary>The value of <c>JOB_TEST_ENTRY</c> that starts the silo through <c>Jobs.InitAsync</c>.</summary>
    public const string FacadeEntry = "facade";

    /// <summary>The value of <c>JOB_TEST_ENTRY</c> that starts the silo through Job.Silo's command line.</summary>
    public const string SiloEntry = "silo";

    /// <summary><c>JOB_TEST_ENTRY</c>: <c>host</c> (default, <c>AddJobs</c> on loopback), <c>facade</c> or <c>silo</c>.</summary>
    public string Entry { get; init; } = "host";
    public required string ConnectionString { get; init; }
    public required string ClusterId { get; init; }
    public string ServiceId { get; init; } = "job-test";
    public string Label { get; init; } = "silo";
    public int MaxJobs { get; init; } = 50;
    public int MinJobs { get; init; } = 30;
    public TimeSpan JobLostInterval { get; init; } = TimeSpan.FromMinutes(5);
    public TimeSpan ShutdownTimeout { get; init; } = TimeSpan.FromSeconds(5);
    public TimeSpan MaxPollInterval { get; init; } = TimeSpan.FromSeconds(5);
    public TimeSpan? ProbeTimeout { get; init; }
    public int? NumMissedProbesLimit { get; init; }
    public TimeSpan? IAmAliveTablePublishTimeout { get; init; }
    public bool DefaultLogging { get; init; }
    /// <summary><c>JOB_TEST_SCHEDULES=1</c>: declare the recurring schedules of <see cref="TestSchedules"/>.</summary>
    public bool Schedules { get; init; }

    public static TestSiloSettings FromEnvironment()
    {
        var max = Int("JOB_TEST_MAX_JOBS") ?? 50;
        return new TestSiloSettings
        {
            DefaultLogging = Environment.GetEnvironmentVariable("JOB_TEST_DEFAULT_LOGGING") == "1",
            Schedules = Environment.GetEnvironmentVariable("JOB_TEST_SCHEDULES") == "1",
            Entry = Environment.GetEnvironmentVariable("JOB_TEST_ENTRY") switch
            {
                null or "" or "host" => "host",
                FacadeEntry => FacadeEntry,
                SiloEntry => SiloEntry,
                var other => throw new InvalidOperationException($"JOB_TEST_ENTRY must be 'host', '{FacadeEntry}' or '{SiloEntry}', not '{other}'."),
            },
            ConnectionString = Required("JOB_TEST_CS"),
            ClusterId = Required("JOB_TEST_CLUSTER"),
            ServiceId = Environment.GetEnvironmentVariable("JOB_TEST_SERVICE") ?? "job-test",
            Label = Environment.GetEnvironmentVariable("JOB_TEST_LABEL") ?? "silo",
            MaxJobs = max,
            MinJobs = Int("JOB_TEST_MIN_JOBS") ?? Math.Max(1, Math.Min(30, max * 3 / 5)),
            JobLostInterval = Ms("JOB_TEST_LOST_INTERVAL_MS") ?? TimeSpan.FromMinutes(5),
            ShutdownTimeout = Ms("JOB_TEST_SHUTDOWN_MS") ?? TimeSpan.FromSeconds(5),
            MaxPollInterval = Ms("JOB_TEST_MAX_POLL_MS") ?? TimeSpan.FromSeconds(5),
            ProbeTimeout = Ms("JOB_TEST_MEMBERSHIP_PROBE_TIMEOUT_MS"),
            NumMissedProbesLimit = Int("JOB_TEST_MEMBERSHIP_MISSED_PROBES"),
            IAmAliveTablePublishTimeout = Ms("JOB_TEST_MEMBERSHIP_IAMALIVE_MS"),
        };
    }

    /// <summary>How the silo claims and runs jobs.</summary>
    public JobPollerConfig PollerConfig() => new()
    {
        MaxJobsPerProcess = MaxJobs,
        MinJobsPerProcess = MinJobs,
        JobLostInterval = JobLostInterval,
        ShutdownTimeout = ShutdownTimeout,
        MaxPollInterval = MaxPollInterval,
    };

    /// <summary>Overrides only what the test set; everything else stays at Orleans' defaults.</summary>
    public void ApplyMembership(ClusterMembershipOptions o)
    {
        if (ProbeTimeout is { } probe)
        {
            o.ProbeTimeout = probe;
        }

        if (NumMissedProbesLimit is { } missed)
        {
            o.NumMissedProbesLimit = missed;
        }

        if (IAmAliveTablePublishTimeout is { } alive)
        {
            o.IAmAliveTablePublishTimeout = alive;
        }

    }

    private static string Required(string name) =>
        Environment.GetEnvironmentVariable(name) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException($"The test silo needs the environment variable {name}.");

    private static int? Int(string name) =>
        Environment.GetEnvironmentVariable(name) is { Length: > 0 } v ? int.Parse(v, CultureInfo.InvariantCulture) : null;

    private static TimeSpan? Ms(string name) => Int(name) is { } ms ? TimeSpan.FromMilliseconds(ms) : null;
}
