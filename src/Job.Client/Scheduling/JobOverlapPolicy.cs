namespace Job;

/// <summary>
/// What a schedule does with a tick that falls due while the job of its previous tick has not ended
/// (it runs, waits for a retry, or waits to be claimed). Decided by the database when the tick fires,
/// so it holds across the cluster, unlike a per-process overlap guard.
/// </summary>
public enum JobOverlapPolicy
{
    /// <summary>The default: the tick spawns nothing (its tick is recorded as skipped). A schedule says
    /// "do this every period"; a run still busy with the previous period's work would only do it twice,
    /// at once. The next tick tries again.</summary>
    Skip = 0,

    /// <summary>The tick's job waits until the previous one ends, then runs: every tick runs, never two
    /// at once (the jobs share the serial queue <c>schedule:&lt;name&gt;</c>). A job slower than the period
    /// makes the queue grow; a failing one holds the ticks behind it while it retries.</summary>
    Queue = 1,

    /// <summary>The tick's job runs as soon as a silo claims it, whatever the previous one does: every
    /// tick runs, and runs may overlap (what Quartz, Hangfire and Oban do by default).</summary>
    Allow = 2,
}
