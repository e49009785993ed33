namespace Job.Common;

/// <summary>The database's notification channels (sent on commit by the functions of migration 0006).</summary>
internal static class JobChannels
{
    /// <summary>Jobs of a type are pending (payload: the type).</summary>
    public const string Ready = "job_ready";

    /// <summary>A job was scheduled for a time (payload: Unix microseconds).</summary>
    public const string Scheduled = "job_scheduled";

    /// <summary>An awaited job ended (payload: its id).</summary>
    public const string Terminal = "job_terminal";

    /// <summary>An operator asked to cancel a running job (payload: its id).</summary>
    public const string Cancel = "job_cancel";

    /// <summary>A type's settings changed: pause, limits (payload: the type).</summary>
    public const string Settings = "job_settings";

    /// <summary>A recurring schedule was created, changed, paused, resumed or removed (payload: its name).</summary>
    public const string Schedules = "job_schedules";
}
