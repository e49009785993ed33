using Job.Scheduling;

namespace Job.Maintenance;

/// <summary>
/// Decides which ticks of a due schedule to fire now (pure: the ticker and tests call it alike). The
/// schedule misfired when a tick came due before <c>boundary</c>, the moment the leader started (or got
/// the database back) less the schedule's misfire threshold: nothing could fire it. The misfire policy
/// then picks among every tick due up to now (none, the latest, the latest N), those of the last minute
/// included, since the same outage kept them from running; the schedule goes on from its first tick
/// after now. Otherwise every due tick runs, however late: a leader that was running only fell behind,
/// and one that took over within the threshold (seconds, after a crash) runs what it found late.
/// At most <c>batch</c> ticks per plan; the schedule's next tick then points at the first one left.
/// </summary>
internal static class TickPlanner
{
    /// <param name="Ticks">The ticks to fire, oldest first.</param>
    /// <param name="Next">The schedule's next tick after these (null: the expression fires no more).</param>
    /// <param name="MissedFrom">The first missed tick, when the schedule misfired.</param>
    /// <param name="MissedUntil">The missed ticks are those from <see cref="MissedFrom"/> to this (inclusive): now.</param>
    /// <param name="MissedRun">How many of the missed ticks the policy picked (all of <see cref="Ticks"/>).</param>
    internal sealed record Plan(IReadOnlyList<DateTimeOffset> Ticks, DateTimeOffset? Next, DateTimeOffset? MissedFrom, DateTimeOffset? MissedUntil, int MissedRun);

    public static Plan For(CronSchedule cron, DateTimeOffset nextTick, DateTimeOffset now, DateTimeOffset boundary, JobMisfirePolicy misfire, int batch)
    {
        if (nextTick < boundary && cron.Between(nextTick, boundary).Cast<DateTimeOffset?>().FirstOrDefault() is { } firstMissed && firstMissed < boundary)
        {
            var picked = cron.LatestBefore(now.AddTicks(1), nextTick).Take(Math.Min(misfire.Runs, batch)).ToList();
            picked.Reverse();
            return new Plan(picked, cron.NextAfter(now), firstMissed, now, picked.Count);
        }

        // From the stored next tick (a tick by construction), one tick after another. Not Cronos' occurrences from that instant: a tick moved by a daylight-
        // saving gap (02:30 that does not exist, run at 03:00) is not an occurrence "from 03:00", so it
        // was lost when the ticker looked exactly at its time.
        var ticks = new List<DateTimeOffset>();
        DateTimeOffset? tick = nextTick;
        while (tick is { } due && due <= now)
        {
            if (ticks.Count >= batch)
            {
                return new Plan(ticks, due, null, null, 0);
            }

            ticks.Add(due);
            tick = cron.NextAfter(due);
        }

        return new Plan(ticks, tick, null, null, 0);
    }
}
