namespace Job;

/// <summary>How the surfaces (the dashboard, the CLI) word a history event, so that they agree.</summary>
internal static class JobHistoryText
{
    /// <summary>"by {actor}", or null when there is no actor or the event's reason already ends with it
    /// ("cancelled by alice (cli)").</summary>
    public static string? By(JobEvent e) =>
        e.Actor is null || e.Reason?.EndsWith("by " + e.Actor, StringComparison.Ordinal) == true ? null : "by " + e.Actor;

    /// <summary>The attempt a finished job ended in: a finished job keeps no attempt counter, its
    /// history does (null when <paramref name="history"/> holds no attempt, as an older window may not).</summary>
    public static int? EndedInAttempt(IReadOnlyList<JobEvent> history) => history.Max(e => e.Attempt);
}
