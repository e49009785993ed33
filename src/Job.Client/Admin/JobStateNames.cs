namespace Job;

/// <summary>The states' names as every surface writes and reads them (the database's terminal states,
/// the dashboard's filters and badges, the CLI's <c>--state</c>): one list, so that none drifts.</summary>
internal static class JobStateNames
{
    /// <summary>The states in the order every surface lists them: waiting, running, finished.</summary>
    public static readonly JobStatus[] Listed = [JobStatus.Pending, JobStatus.Scheduled, JobStatus.Running, JobStatus.Completed, JobStatus.Errored, JobStatus.Cancelled];

    /// <summary>The names, in the order the surfaces list the states, for messages.</summary>
    public const string All = "pending, scheduled, running, completed, errored or cancelled";

    /// <summary>The state's name.</summary>
    public static string Name(JobStatus status) => status switch
    {
        JobStatus.Completed => "completed",
        JobStatus.Errored => "errored",
        JobStatus.Cancelled => "cancelled",
        JobStatus.Running => "running",
        JobStatus.Scheduled => "scheduled",
        _ => "pending",
    };

    /// <summary>The state a name stands for; false for any other text.</summary>
    public static bool TryParse(string name, out JobStatus status)
    {
        (var known, status) = name switch
        {
            "pending" => (true, JobStatus.Pending),
            "scheduled" => (true, JobStatus.Scheduled),
            "running" => (true, JobStatus.Running),
            "completed" => (true, JobStatus.Completed),
            "errored" => (true, JobStatus.Errored),
            "cancelled" => (true, JobStatus.Cancelled),
            _ => (false, default(JobStatus)),
        };
        return known;
    }
}
