using Job.Scheduling;

namespace Job.Maintenance;

/// <summary>
/// Decides which ticks of a due schedule to fire now (pure: the ticker and tests call it alike). The
/// ticks from the schedule's next tick up to now split at <c>boundary</c>, the moment the leader started
/// (or got the database back) less the schedule's misfire threshold: ticks before it were missed while
/// nothing could fire them, and the misfire policy picks which of them run (none, the latest, the
/// latest N); ticks from it on all run, however late, since a leader that was running only fell behind.
/// At most <c>batch</c> ticks per plan; the schedule's next tick then points at the first one left.
/// </summary>
internal static class TickPlanner
{
    /// <param name="Ticks">The ticks to fire, oldest first.</param>
    /// <param name="Next">The schedule's next tick after these (null: the expression fires no more).</param>
    /// <param name="MissedFrom">The first missed tick, when some were missed.</param>
    /// <param name="MissedUntil">The missed ticks are those before this (exclusive).</param>
    /// <param name="MissedRun">How many of the missed ticks are among <see cref="Ticks"/>.</param>
    internal sealed record Plan(IReadOnlyList<DateTimeOffset> Ticks, DateTimeOffset? Next, DateTimeOffset? MissedFrom, DateTimeOffset? MissedUntil, int MissedRun);

    public static Plan For(CronSchedule cron, DateTimeOffset nextTick, DateTimeOffset now, DateTimeOffset boundary, JobMisfirePolicy misfire, int batch)
    {
        var ticks = new List<DateTimeOffset>();
        DateTimeOffset? missedFrom = null;
        DateTimeOffset? missedUntil = null;
        var missedRun = 0;
        if (nextTick < boundary && cron.Between(nextTick, boundary).Cast<DateTimeOffset?>().FirstOrDefault() is { } firstMissed && firstMissed < boundary)
        {
            var latest = cron.LatestBefore(boundary, nextTick).Take(Math.Min(misfire.Runs, batch)).ToList();
            latest.Reverse();
            ticks.AddRange(latest);
            missedRun = latest.Count;
            missedFrom = firstMissed;
            missedUntil = boundary;
        }

        // From the stored next tick (a tick by construction), or the first tick at or after the boundary,
        // one tick after another. Not Cronos' occurrences from that instant: a tick moved by a daylight-
        // saving gap (02:30 that does not exist, run at 03:00) is not an occurrence "from 03:00", so it
        // was lost when the ticker looked exactly at its time.
        var tick = nextTick >= boundary ? nextTick : cron.NextAfter(boundary.AddTicks(-1));
        while (tick is { } due && due <= now)
        {
            if (ticks.Count >= batch)
            {
                return new Plan(ticks, due, missedFrom, missedUntil, missedRun);
            }

            ticks.Add(due);
            tick = cron.NextAfter(due);
        }

        return new Plan(ticks, tick, missedFrom, missedUntil, missedRun);
    }
}
