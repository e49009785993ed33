namespace Job;

/// <summary>
/// A recurring schedule: every tick of <see cref="Cron"/> in <see cref="TimeZone"/> spawns one job of
/// <see cref="JobType"/> with <see cref="Config"/>, exactly once across the cluster (the database keeps a
/// unique key per schedule and tick). Declare it in code (<c>services.AddRecurringJob(spec)</c>,
/// <c>jobs.AddRecurring(spec)</c>) or create it at run time (<see cref="JobSchedules.SetAsync{TConfig}"/>).
/// </summary>
/// <typeparam name="TConfig">The job type's config.</typeparam>
/// <param name="Name">The schedule's name, its identity: 1 to 200 characters, ASCII letters, digits and
/// <c>- _ . : /</c>, starting with a letter or digit.</param>
/// <param name="JobType">The type of the jobs it spawns; the silos must register it.</param>
/// <param name="Cron">A cron expression as Cronos reads it: five fields (minute hour day-of-month month
/// day-of-week), six with seconds first, or a macro (<c>@hourly</c>, <c>@daily</c>, …). <c>H</c> picks a
/// fixed value per schedule name (jitter), spreading schedules that would all fire at once.</param>
/// <param name="Config">The config every tick's job gets.</param>
public sealed record JobScheduleSpec<TConfig>(string Name, JobType JobType, string Cron, TConfig Config)
{
    /// <summary>The default time zone, UTC.</summary>
    public const string Utc = "UTC";

    /// <summary>The default <see cref="MisfireThreshold"/>, one minute (Quartz's).</summary>
    public static readonly TimeSpan DefaultMisfireThreshold = TimeSpan.FromMinutes(1);

    /// <summary>The time zone the expression is read in: an IANA id (<c>Europe/Zurich</c>) or, where the
    /// platform maps it, a Windows id. Default <see cref="Utc"/>. Daylight-saving changes are handled as
    /// Cronos defines: a tick in the hour that is skipped in spring runs at the end of the gap; in the
    /// hour repeated in autumn a fixed-time tick runs once, an interval (<c>*/15</c>) in both.</summary>
    public string TimeZone { get; init; } = Utc;

    /// <summary>Ticks that fell due while no silo could fire them: <see cref="JobMisfirePolicy.RunOnce"/> by default.</summary>
    public JobMisfirePolicy Misfire { get; init; } = JobMisfirePolicy.RunOnce;

    /// <summary>How late a tick may be, counted from the moment the cluster's leader started (or got the
    /// database back), before it counts as missed: a leader that moves after a crash takes seconds, so
    /// its ticks run; a cluster that was down for hours applies <see cref="Misfire"/>. One second to one
    /// day; default one minute.</summary>
    public TimeSpan MisfireThreshold { get; init; } = DefaultMisfireThreshold;

    /// <summary>A tick due while the previous tick's job has not ended: <see cref="JobOverlapPolicy.Skip"/> by default.</summary>
    public JobOverlapPolicy Overlap { get; init; } = JobOverlapPolicy.Skip;

    /// <summary>The priority of every tick's job among its type's due jobs (see <see cref="JobSpec{TConfig}.Priority"/>).</summary>
    public short Priority { get; init; }
}
