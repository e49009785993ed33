namespace Job;

/// <summary>Where a job is in its life. The first two are live states; the rest are terminal.</summary>
public enum JobStatus
{
    /// <summary>Waiting for its due time or for a free runner (also between retries).</summary>
    Pending = 0,
    /// <summary>Claimed by a silo and executing.</summary>
    Running = 1,
    /// <summary>Finished successfully.</summary>
    Completed = 2,
    /// <summary>Failed on its last allowed attempt.</summary>
    Errored = 3,
    /// <summary>Cancelled while pending.</summary>
    Cancelled = 4,
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
