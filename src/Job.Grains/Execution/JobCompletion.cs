using Npgsql;

namespace Job;

/// <summary>
/// How a run ended. The <c>…WithTx</c> forms carry the runner's own open transaction: the runtime
/// writes the job's state change into it and commits it, so the runner's business writes and the
/// job's completion are one atomic commit (both or neither). The runtime then disposes the
/// transaction and closes its connection: hand it over and do not use it again.
/// </summary>
public sealed class JobCompletion
{
    private JobCompletion(JobCompletionKind kind, DateTimeOffset? at, TimeSpan? delay, NpgsqlTransaction? transaction)
    {
        Kind = kind;
        At = at;
        Delay = delay;
        Transaction = transaction;
    }

    internal JobCompletionKind Kind { get; }
    internal DateTimeOffset? At { get; }
    internal TimeSpan? Delay { get; }
    internal NpgsqlTransaction? Transaction { get; }

    /// <summary>The job is done; it becomes terminal (completed).</summary>
    public static JobCompletion Complete() => new(JobCompletionKind.Complete, null, null, null);

    /// <summary>As <see cref="Complete()"/>, committed together with <paramref name="transaction"/>.</summary>
    public static JobCompletion CompleteWithTx(NpgsqlTransaction transaction) => new(JobCompletionKind.Complete, null, null, Required(transaction));

    /// <summary>Run again as soon as possible, with the attempt counter back at 1.</summary>
    public static JobCompletion RescheduleNow() => new(JobCompletionKind.Reschedule, null, TimeSpan.Zero, null);

    /// <summary>As <see cref="RescheduleNow()"/>, committed together with <paramref name="transaction"/>.</summary>
    public static JobCompletion RescheduleNowWithTx(NpgsqlTransaction transaction) => new(JobCompletionKind.Reschedule, null, TimeSpan.Zero, Required(transaction));

    /// <summary>Run again after <paramref name="delay"/> on the application clock.</summary>
    public static JobCompletion RescheduleIn(TimeSpan delay) => new(JobCompletionKind.Reschedule, null, NonNegative(delay), null);

    /// <summary>As <see cref="RescheduleIn(TimeSpan)"/>, committed together with <paramref name="transaction"/>.</summary>
    public static JobCompletion RescheduleInWithTx(NpgsqlTransaction transaction, TimeSpan delay) => new(JobCompletionKind.Reschedule, null, NonNegative(delay), Required(transaction));

    /// <summary>Run again at <paramref name="at"/> (a past time means now).</summary>
    public static JobCompletion RescheduleAt(DateTimeOffset at) => new(JobCompletionKind.Reschedule, at, null, null);

    /// <summary>As <see cref="RescheduleAt(DateTimeOffset)"/>, committed together with <paramref name="transaction"/>.</summary>
    public static JobCompletion RescheduleAtWithTx(NpgsqlTransaction transaction, DateTimeOffset at) => new(JobCompletionKind.Reschedule, at, null, Required(transaction));

    /// <inheritdoc />
    public override string ToString() => (Kind, At, Delay) switch
    {
        (JobCompletionKind.Complete, _, _) => Transaction is null ? "Complete" : "CompleteWithTx",
        (_, { } at, _) => $"RescheduleAt({at:O})",
        (_, _, { } d) when d == TimeSpan.Zero => "RescheduleNow",
        (_, _, { } d) => $"RescheduleIn({d})",
        _ => Kind.ToString(),
    };

    private static NpgsqlTransaction Required(NpgsqlTransaction transaction) =>
        transaction ?? throw new ArgumentNullException(nameof(transaction), "A …WithTx completion needs the runner's open transaction.");

    private static TimeSpan NonNegative(TimeSpan delay) =>
        delay >= TimeSpan.Zero ? delay : throw new ArgumentOutOfRangeException(nameof(delay), delay, "A reschedule delay cannot be negative.");
}

internal enum JobCompletionKind
{
    Complete,
    Reschedule,
}
