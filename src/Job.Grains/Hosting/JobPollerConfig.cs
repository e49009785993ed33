namespace Job;

/// <summary>
/// How one process claims and runs jobs, as the crate's <c>JobPollerConfig</c>: the crate-style
/// builder's input (<see cref="JobSvcConfigBuilder.PollerConfig"/>), mapped onto <see cref="JobsOptions"/>.
/// The defaults are the crate's; the extra knobs are ours.
/// </summary>
public sealed record JobPollerConfig
{
    /// <summary>A running job whose heartbeat is older than this (real time) is taken as lost and
    /// handed to another silo. This is the fallback for hung processes; a silo that dies is noticed
    /// by Orleans membership within seconds instead. Default 5 minutes.</summary>
    public TimeSpan JobLostInterval { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>At most this many jobs run at once in this process. Default 50.</summary>
    public int MaxJobsPerProcess { get; init; } = 50;

    /// <summary>The crate's hysteresis: short jobs are claimed in batches of at least Max − Min; a long
    /// job is claimed as soon as a runner frees (see <see cref="JobsOptions.MinJobsPerProcess"/>). Default 30.</summary>
    public int MinJobsPerProcess { get; init; } = 30;

    /// <summary>How long shutdown waits for running jobs before handing them back. Default 5 s.</summary>
    public TimeSpan ShutdownTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The longest the poller sleeps without a notification (real time): a safety net if a
    /// NOTIFY is lost, e.g. across a database restart, or while a job type's scheduler (its
    /// <c>JobTypeGrain</c>) moves to another silo after its own died; it bounds how late a due job
    /// can start then. Default 5 s.</summary>
    public TimeSpan MaxPollInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Checks the values with the rules of <see cref="JobsOptionsValidator"/> and throws with a
    /// message naming the first bad one.</summary>
    /// <exception cref="ArgumentException">A value is out of range.</exception>
    public void Validate()
    {
        var options = new JobsOptions { ConnectionString = "Host=localhost" };
        options.Apply(this);
        if (JobsOptionsValidator.Failures(options).FirstOrDefault() is { } failure)
        {
            throw new ArgumentException(failure.Replace("JobsOptions.", "JobPollerConfig.", StringComparison.Ordinal));
        }
    }
}
