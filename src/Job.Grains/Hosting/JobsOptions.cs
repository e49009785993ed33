using System.Text.Json;
using Npgsql;

namespace Job;

/// <summary>
/// Options of the job runtime inside a silo (<c>siloBuilder.AddJobs(o => …)</c>). Give either a
/// connection string or a data source.
/// </summary>
public sealed class JobsOptions
{
    /// <summary>The PostgreSQL connection string. Exactly one of this and <see cref="DataSource"/>.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>An existing data source (its pool is shared with the application).</summary>
    public NpgsqlDataSource? DataSource { get; set; }

    /// <summary>Apply missing migrations at silo start. Default: true with a connection string,
    /// false with a data source (as the crate).</summary>
    public bool? ExecMigrations { get; set; }

    /// <summary>How this silo claims and runs jobs.</summary>
    public JobPollerConfig Poller { get; set; } = new();

    /// <summary>The application clock for schedules and backoff. Default: real time.</summary>
    public ClockHandle Clock { get; set; } = ClockHandle.Realtime();

    /// <summary>How configs and execution state are serialized. Default: <see cref="JsonSerializerDefaults.Web"/>.</summary>
    public JsonSerializerOptions JsonSerializerOptions { get; set; } = new(JsonSerializerDefaults.Web);

    /// <summary>The largest config accepted, in UTF-8 bytes. Default 1 MiB.</summary>
    public int MaxConfigBytes { get; set; } = 1 << 20;

    /// <summary>Also configure Orleans clustering and grain storage on the same database (reminders are
    /// always configured: the runtime needs them). Turn off to bring your own clustering. Default true.</summary>
    public bool UsePostgresClustering { get; set; } = true;

    /// <summary>
    /// How long Orleans waits for a probe reply before counting a miss. A dead silo is declared dead
    /// after about three missed probes, and that is when its jobs are rescued, so this sets the
    /// rescue time: 3 s (Job's default) gives about 10–12 s from a crash to the job running
    /// elsewhere, Orleans' own 5 s about 15–20 s. Shorter detects faster but risks declaring a
    /// starved silo dead (its jobs then run twice, fenced). Null leaves the Orleans setting alone.
    /// </summary>
    public TimeSpan? MembershipProbeTimeout { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>
    /// How long a silo that stops answering while its connections stay open (a frozen process:
    /// SIGSTOP, a VM stun, a very long GC pause) is spared before it can be declared dead. Orleans
    /// refuses death votes against a silo whose connection delivered a message within
    /// <c>MaxProbeTimeout × NumMissedProbesLimit</c>, and its default (four times the probe timeout)
    /// made that 36 s: a frozen silo's jobs waited about 40 s where a crashed one's wait 10 s. Job
    /// sets <c>MaxProbeTimeout</c> to this value over <c>NumMissedProbesLimit</c>: 12 s (the default)
    /// gives about 12–15 s from a freeze to its jobs running elsewhere, and no pause shorter than
    /// 12 s gets a silo declared dead. Lower rescues sooner; a silo declared dead while it was only
    /// paused stops when it wakes, and its jobs run again elsewhere (fenced, so one result counts).
    /// At least three times <see cref="MembershipProbeTimeout"/>. Null leaves the Orleans setting alone.
    /// </summary>
    public TimeSpan? MembershipPauseTolerance { get; set; } = TimeSpan.FromSeconds(12);

    /// <summary>
    /// How long finished jobs (completed, errored, cancelled) and their history are kept, on the
    /// application clock, before the type's janitor deletes them. Null (the default) keeps them
    /// forever, as the crate does. Without it the jobs and job_events tables only grow; systems
    /// that run millions of jobs a day usually keep one to seven days. A pruned unique job no
    /// longer blocks a new one of its type. Set the same value on every silo.
    /// </summary>
    public TimeSpan? HistoryRetention { get; set; }

    /// <summary>Start this silo's poller when the silo starts. The crate-style facade turns this off
    /// and starts it in <see cref="Jobs.StartPollAsync"/>. Default true.</summary>
    public bool StartPollingWithSilo { get; set; } = true;

    /// <summary>Checks the combination and throws with a clear message.</summary>
    /// <exception cref="ArgumentException">Neither or both of the connection settings are set, or a value is out of range.</exception>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(ConnectionString) == (DataSource is null))
        {
            throw new ArgumentException(DataSource is null
                ? "Jobs need a database: set JobsOptions.ConnectionString or JobsOptions.DataSource."
                : "Set only one of JobsOptions.ConnectionString and JobsOptions.DataSource, not both.");
        }

        if (MaxConfigBytes < 2)
        {
            throw new ArgumentException($"JobsOptions.MaxConfigBytes must be at least 2 (it is {MaxConfigBytes}).");
        }

        CheckHistoryRetention(HistoryRetention, "JobsOptions.HistoryRetention");

        if (MembershipProbeTimeout is { } probe && probe <= TimeSpan.Zero)
        {
            throw new ArgumentException($"JobsOptions.MembershipProbeTimeout must be positive, or null to keep Orleans' setting (it is {probe}).");
        }

        if (MembershipPauseTolerance is { } positive && positive <= TimeSpan.Zero)
        {
            throw new ArgumentException($"JobsOptions.MembershipPauseTolerance must be positive, or null to keep Orleans' setting (it is {positive}).");
        }

        if (MembershipPauseTolerance is { } tolerance && MembershipProbeTimeout is { } probeTimeout && tolerance < 3 * probeTimeout)
        {
            throw new ArgumentException(
                $"JobsOptions.MembershipPauseTolerance ({tolerance}) must be at least three times MembershipProbeTimeout ({probeTimeout}): " +
                "a silo is declared dead after three missed probes, so a shorter tolerance cannot take effect.");
        }

        ArgumentNullException.ThrowIfNull(Clock);
        ArgumentNullException.ThrowIfNull(JsonSerializerOptions);
        ArgumentNullException.ThrowIfNull(Poller);
        Poller.Validate();
    }

    /// <summary>The one rule for a retention, shared with the crate-style builder.</summary>
    internal static void CheckHistoryRetention(TimeSpan? retention, string name)
    {
        if (retention is { } value && value < TimeSpan.FromSeconds(1))
        {
            throw new ArgumentException($"{name} must be at least 1 second, or unset to keep finished jobs forever (it is {value}).");
        }
    }
}
