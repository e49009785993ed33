namespace Job;

/// <summary>
/// A job type's cluster-wide flow control as stored in the database: whether it is paused, and its
/// limits. A type nobody set anything for has no settings: it runs unpaused and unlimited.
/// </summary>
/// <param name="JobType">The type.</param>
/// <param name="Paused">No silo claims its jobs; running ones finish.</param>
/// <param name="MaxRunning">At most this many of its jobs run at once in the cluster; null: no limit.</param>
/// <param name="RateLimit">At most so many of its jobs start per period in the cluster; null: no limit.</param>
/// <param name="UpdatedAt">When the settings last changed (database time).</param>
/// <param name="UpdatedBy">Who changed them last, as the caller said; null when not given.</param>
public sealed record JobTypeSettings(
    JobType JobType,
    bool Paused,
    int? MaxRunning,
    JobRateLimit? RateLimit,
    DateTimeOffset UpdatedAt,
    string? UpdatedBy);
