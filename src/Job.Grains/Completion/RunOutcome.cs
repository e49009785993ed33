using Job.Claims;

namespace Job.Completion;

/// <summary>How a run ended, as the database records it (the kinds of <c>job_finish</c>).</summary>
internal enum OutcomeKind : short
{
    /// <summary>The runner returned Complete: the job ends completed.</summary>
    Completed = 1,

    /// <summary>The runner asked to run again at a time; the attempt counter goes back to 1.</summary>
    Rescheduled = 2,

    /// <summary>The run failed and the job runs again after its backoff.</summary>
    Retry = 3,

    /// <summary>The last allowed attempt failed: the job ends errored.</summary>
    Errored = 4,

    /// <summary>The run did not happen or was cut off (shutdown, no runner here): pending again, due as
    /// before, attempt kept.</summary>
    HandedBack = 5,

    /// <summary>An operator's cancel reached the run: the job ends cancelled.</summary>
    Cancelled = 6,
}

/// <summary>The outcomes' names in metrics and traces.</summary>
internal static class OutcomeKinds
{
    public static string Name(this OutcomeKind kind) => kind switch
    {
        OutcomeKind.Completed => "completed",
        OutcomeKind.Rescheduled => "rescheduled",
        OutcomeKind.Retry => "retry",
        OutcomeKind.Errored => "errored",
        OutcomeKind.HandedBack => "handed_back",
        _ => "cancelled",
    };
}

/// <summary>
/// One run's outcome, to be written fenced by its claim: the kind, and what the kind needs (the
/// retry's attempt and time, the reschedule's time, the error or the hand-back's reason).
/// </summary>
internal sealed record RunOutcome(ClaimedJob Claim, OutcomeKind Kind)
{
    /// <summary>The attempt of the next run (a retry).</summary>
    public int NextAttempt { get; init; }

    /// <summary>When the next run is due (a retry or a reschedule).</summary>
    public DateTimeOffset? At { get; init; }

    /// <summary>The run was healthy long enough that the attempt counter restarted.</summary>
    public bool AttemptCounterReset { get; init; }

    /// <summary>The failure's message, or the hand-back's reason.</summary>
    public string? Message { get; init; }

    /// <summary>The failure's exception type.</summary>
    public string? ErrorType { get; init; }

    /// <summary>The failure's exception as .NET prints it (stack trace and inner exceptions included).</summary>
    public string? ErrorDetail { get; init; }

    public static RunOutcome HandBack(ClaimedJob claim, string reason) => new(claim, OutcomeKind.HandedBack) { Message = reason };
}
