namespace Job;

/// <summary>How a <see cref="JobMisfirePolicy"/> treats missed ticks.</summary>
public enum JobMisfireKind
{
    /// <summary>Missed ticks are dropped; the schedule goes on with its next tick.</summary>
    Skip = 0,

    /// <summary>The latest missed tick runs once; the earlier ones are dropped.</summary>
    RunOnce = 1,

    /// <summary>The latest <see cref="JobMisfirePolicy.Limit"/> missed ticks run, each with its own job.</summary>
    CatchUp = 2,
}

/// <summary>
/// What a schedule does with the ticks it missed while no silo could fire them (the whole cluster
/// was down, or could not reach the database). A schedule misfired when one of its ticks fell due more
/// than <see cref="JobScheduleSpec{TConfig}.MisfireThreshold"/> before the cluster's leader started (or
/// got the database back); the policy then decides among all its ticks due up to now, those of the
/// last minute included. Without such a tick, every late tick runs, so a leader that moves to another
/// silo after a crash (seconds) misses nothing. The default is <see cref="RunOnce"/>: work that should
/// have happened does, once, without a burst of stale runs. The ticks a policy picks are fired like
/// any others: under the overlap policy Skip, one due while an earlier one's job has not ended is skipped.
/// </summary>
public sealed record JobMisfirePolicy
{
    /// <summary>The most missed ticks <see cref="CatchUp"/> can run.</summary>
    public const int MaxCatchUp = 1000;

    private JobMisfirePolicy(JobMisfireKind kind, int limit)
    {
        Kind = kind;
        Limit = limit;
    }

    /// <summary>Drop missed ticks (Quartz's "do nothing").</summary>
    public static JobMisfirePolicy Skip { get; } = new(JobMisfireKind.Skip, 1);

    /// <summary>Run the latest missed tick once (Quartz's "fire once now", Hangfire's default).</summary>
    public static JobMisfirePolicy RunOnce { get; } = new(JobMisfireKind.RunOnce, 1);

    /// <summary>Run each of the latest <paramref name="limit"/> missed ticks, oldest first, each its own
    /// job with its own tick time; older ones are dropped. For work that must happen per period
    /// (a report per day), with a bound on the burst after a long outage.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="limit"/> is not 1 to <see cref="MaxCatchUp"/>.</exception>
    public static JobMisfirePolicy CatchUp(int limit) =>
        limit is >= 1 and <= MaxCatchUp
            ? new(JobMisfireKind.CatchUp, limit)
            : throw new ArgumentOutOfRangeException(nameof(limit), limit, $"A catch-up runs 1 to {MaxCatchUp} missed ticks.");

    /// <summary>What happens to missed ticks.</summary>
    public JobMisfireKind Kind { get; }

    /// <summary>How many missed ticks run at most (1 for <see cref="RunOnce"/>; unused by <see cref="Skip"/>).</summary>
    public int Limit { get; }

    /// <summary>How many of the missed ticks run.</summary>
    internal int Runs => Kind switch
    {
        JobMisfireKind.Skip => 0,
        JobMisfireKind.RunOnce => 1,
        _ => Limit,
    };

    /// <summary>The name stored in <c>job_schedules.misfire</c>.</summary>
    internal string Stored => Kind switch
    {
        JobMisfireKind.Skip => "skip",
        JobMisfireKind.RunOnce => "run_once",
        _ => "catch_up",
    };

    internal static JobMisfirePolicy FromStored(string kind, int limit) => kind switch
    {
        "skip" => Skip,
        "run_once" => RunOnce,
        "catch_up" => CatchUp(limit),
        _ => throw new InvalidOperationException($"Unknown misfire policy '{kind}' in the database."),
    };

    /// <inheritdoc />
    public override string ToString() => Kind == JobMisfireKind.CatchUp ? $"CatchUp({Limit})" : Kind.ToString();
}
