using System.Diagnostics.CodeAnalysis;

namespace Job;

/// <summary>
/// Identifies one job for its whole life. Callers choose the id (so a spawn can be retried
/// idempotently: a second spawn with the same id fails with <see cref="DuplicateJobIdException"/>
/// instead of creating a twin). New ids are UUID version 7, so they sort by creation time and
/// keep the primary-key index append-mostly.
/// </summary>
[GenerateSerializer, Immutable]
public readonly record struct JobId([property: Id(0)] Guid Value) : IComparable<JobId>
{
    /// <summary>A new time-ordered id (UUID v7).</summary>
    public static JobId New() => new(Guid.CreateVersion7());

    /// <summary>Parses the canonical UUID text form.</summary>
    /// <exception cref="FormatException">The text is not a UUID.</exception>
    public static JobId Parse(string text) =>
        Guid.TryParse(text, out var guid)
            ? new JobId(guid)
            : throw new FormatException($"'{text}' is not a job id: expected a UUID such as 0192f6c2-7b1e-7d0a-9c1f-2b3c4d5e6f70.");

    /// <summary>Parses the canonical UUID text form without throwing.</summary>
    public static bool TryParse([NotNullWhen(true)] string? text, out JobId id)
    {
        var ok = Guid.TryParse(text, out var guid);
        id = new JobId(guid);
        return ok;
    }

    /// <inheritdoc />
    public int CompareTo(JobId other) => Value.CompareTo(other.Value);

    /// <inheritdoc />
    public override string ToString() => Value.ToString();

    /// <summary>Lets a <see cref="Guid"/> stand where a job id is expected.</summary>
    public static implicit operator JobId(Guid value) => new(value);
}
