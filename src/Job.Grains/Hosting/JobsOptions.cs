using System.Text.Json;
using Npgsql;

namespace Job;

/// <summary>
/// Every setting of the job runtime in one silo: the one configuration surface. A worker host
/// binds it from configuration (section <see cref="SectionName"/>, through
/// <c>siloBuilder.AddJobs(configuration.GetSection("Jobs"))</c>), an application sets it in code
/// (<c>siloBuilder.AddJobs(o => …)</c>), and the crate-style builder (<see cref="JobSvcConfig"/>)
/// maps onto it. <see cref="JobsOptionsValidator"/> checks it when the host starts, so a bad
/// value stops the start with a message naming the setting rather than failing later.
/// </summary>
public sealed class JobsOptions
{
    /// <summary>The configuration section the worker host binds: <c>Jobs</c>.</summary>
    public const string SectionName = "Jobs";

    /// <summary>The PostgreSQL connection string. Exactly one of this and <see cref="DataSource"/>.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>An existing data source (its pool is shared with the application). Not bindable.</summary>
    public NpgsqlDataSource? DataSource { get; set; }

    /// <summary>The PostgreSQL schema of Job's tables (and of the Orleans tables Job creates), so they
    /// never clash with an application's own; every process of one cluster must use the same.
    /// Default <c>job</c>.</summary>
    public string Schema { get; set; } = JobSchema.Default.Name;

    /// <summary>Apply missing migrations at silo start. Default: true with a connection string,
    /// false with a data source (as the crate).</summary>
    public bool? ExecMigrations { get; set; }

    /// <summary>At most this many jobs run at once in this silo. Default 50 (the crate's).</summary>
    public int MaxJobsPerProcess { get; set; } = 50;

    /// <summary>The crate's hysteresis: when jobs are short, the silo claims in batches of at least
    /// <c>MaxJobsPerProcess − MinJobsPerProcess</c>, so the database sees batches rather than single
    /// rows. Long jobs are claimed as soon as a runner frees, so a free runner never idles while a job
    /// is due (the silo claims ahead only of short jobs). Default 30.</summary>
    public int MinJobsPerProcess { get; set; } = 30;

    /// <summary>A running job whose heartbeat is older than this (real time) is taken as lost and
    /// handed to another silo. This is the fallback for hung processes; a silo that dies is noticed
    /// by Orleans membership within seconds instead. Default 5 minutes.</summary>
    public TimeSpan JobLostInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How long shutdown waits for running jobs before handing them back. Default 5 s.</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The longest a silo waits without a notification before it looks for due work (real
    /// time): a safety net for a lost NOTIFY (a database restart, a dropped connection). Default 5 s.</summary>
    public TimeSpan MaxPollInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long finished jobs (completed, errored, cancelled) and their history are kept, on the
    /// application clock, before maintenance deletes them. Null (the default) keeps them forever, as
    /// the crate does. Without it the jobs and job_events tables only grow; systems that run
    /// millions of jobs a day usually keep one to seven days. A pruned unique job no longer blocks a
    /// new one of its type. A job that lives longer than the retention (one that reschedules itself)
    /// loses its events older than it too, except its provenance (initialized, schedule_tick) and its
    /// last two executions, so that its history does not grow without end. Set the same value on every silo.
    /// </summary>
    public TimeSpan? HistoryRetention { get; set; }

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

    /// <summary>The largest config accepted, in UTF-8 bytes. Default 1 MiB.</summary>
    public int MaxConfigBytes { get; set; } = JobLimits.DefaultMaxConfigBytes;

    /// <summary>Also configure Orleans clustering and grain storage on the same database (reminders are
    /// always configured: the runtime needs them). Turn off to bring your own clustering. Default true.</summary>
    public bool UsePostgresClustering { get; set; } = true;

    /// <summary>Start this silo's poller when the silo starts. The crate-style facade turns this off
    /// and starts it in <see cref="Jobs.StartPollAsync"/>. Default true.</summary>
    public bool StartPollingWithSilo { get; set; } = true;

    /// <summary>The application clock for schedules and backoff. Default: real time. Not bindable.</summary>
    public ClockHandle Clock { get; set; } = ClockHandle.Realtime();

    /// <summary>How configs and execution state are serialized. Default: <see cref="JsonSerializerDefaults.Web"/>.
    /// Not bindable.</summary>
    public JsonSerializerOptions JsonSerializerOptions { get; set; } = new(JsonSerializerDefaults.Web);

    /// <summary>Checks every setting and throws with a message naming the first bad one; the same
    /// rules as the validator that runs at host start.</summary>
    /// <exception cref="ArgumentException">Neither or both of the connection settings are set, or a value is out of range.</exception>
    public void Validate()
    {
        if (JobsOptionsValidator.Failures(this).FirstOrDefault() is { } failure)
        {
            throw new ArgumentException(failure);
        }
    }

    /// <summary>Copies the crate-style poller settings onto these options.</summary>
    internal void Apply(JobPollerConfig poller)
    {
        MaxJobsPerProcess = poller.MaxJobsPerProcess;
        MinJobsPerProcess = poller.MinJobsPerProcess;
        JobLostInterval = poller.JobLostInterval;
        ShutdownTimeout = poller.ShutdownTimeout;
        MaxPollInterval = poller.MaxPollInterval;
    }
}
