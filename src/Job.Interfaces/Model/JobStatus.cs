namespace Job;

/// <summary>Where a job is in its life. <see cref="Pending"/>, <see cref="Scheduled"/> and
/// <see cref="Running"/> are live states; the rest are terminal.</summary>
public enum JobStatus
{
    /// <summary>Due, waiting for a free runner (or, in a serial queue, for its turn).</summary>
    Pending = 0,
    /// <summary>Claimed by a silo and executing.</summary>
    Running = 1,
    /// <summary>Finished successfully.</summary>
    Completed = 2,
    /// <summary>Failed on its last allowed attempt.</summary>
    Errored = 3,
    /// <summary>Cancelled before it ended otherwise.</summary>
    Cancelled = 4,

    /// <summary>Due later: spawned for a later time, rescheduled, or waiting out a retry's backoff.</summary>
    Scheduled = 5,
}

/// <summary>How a job ended, so callers can tell success from exhausted retries (the crate could not).</summary>
public enum JobTerminalState
{
    /// <summary>The runner returned <c>Complete</c>.</summary>
    Completed = 0,
    /// <summary>The last allowed attempt failed.</summary>
    Errored = 1,
    /// <summary>Cancelled before it ran to an end.</summary>
    Cancelled = 2,
}
