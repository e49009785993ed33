namespace Job;

/// <summary>A schedule's definition cannot be used (its name, expression, time zone or limits); nothing
/// was written. The base of <see cref="InvalidCronExpressionException"/> and <see cref="UnknownTimeZoneException"/>,
/// so a caller can catch every bad definition at once.</summary>
public class InvalidJobScheduleException : JobException
{
    /// <summary>Creates the error with a message naming what is wrong.</summary>
    public InvalidJobScheduleException(string message, Exception? inner = null) : base(message, inner) { }
}

/// <summary>A cron expression Cronos cannot read, or one that never fires.</summary>
public sealed class InvalidCronExpressionException : InvalidJobScheduleException
{
    /// <summary>Creates the error for the expression and the reason.</summary>
    public InvalidCronExpressionException(string? expression, string problem, Exception? inner = null)
        : base($"'{expression}' is not a usable cron expression: {problem}. Use five fields (minute hour day-of-month month day-of-week, e.g. \"0 2 * * *\"), six with seconds first (\"*/10 * * * * *\"), or a macro (@hourly, @daily).", inner) =>
        Expression = expression;

    /// <summary>The rejected expression.</summary>
    public string? Expression { get; }
}

/// <summary>A time zone id this machine does not know.</summary>
public sealed class UnknownTimeZoneException : InvalidJobScheduleException
{
    /// <summary>Creates the error for the id.</summary>
    public UnknownTimeZoneException(string? timeZone, Exception? inner = null)
        : base($"'{timeZone}' is not a time zone this machine knows. Use an IANA id such as \"Europe/Zurich\" or \"America/New_York\", or \"UTC\" (on Linux the ids come from the tzdata package).", inner) =>
        TimeZone = timeZone;

    /// <summary>The rejected id.</summary>
    public string? TimeZone { get; }
}

/// <summary>No schedule has this name.</summary>
public sealed class JobScheduleNotFoundException : JobException
{
    /// <summary>Creates the error for the unknown name.</summary>
    public JobScheduleNotFoundException(string name)
        : base($"No schedule named '{name}' exists (JobSchedules.ListAsync shows those that do).") => Name = name;

    /// <summary>The name that was looked up.</summary>
    public string Name { get; }
}
