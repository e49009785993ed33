namespace Job;

/// <summary>
/// The name under which a job type is registered and stored. It is a key in the database, in
/// NOTIFY payloads and in grain keys, so it is restricted to a safe character set and a bounded
/// length, and it is validated once, here, rather than at every use. Types may be built at run time
/// (for example one per tenant: <c>new JobType($"inbox:{tenantId}")</c>).
/// </summary>
[GenerateSerializer, Immutable]
public readonly record struct JobType
{
    /// <summary>The longest name accepted, in characters.</summary>
    public const int MaxLength = 128;

    [Id(0)] private readonly string? _name;

    /// <summary>Validates and wraps a job type name.</summary>
    /// <exception cref="InvalidJobTypeException">The name is empty, too long, or uses characters outside
    /// letters, digits and <c>- _ . : /</c>, or does not start with a letter or digit.</exception>
    public JobType(string name)
    {
        Validate(name);
        _name = name;
    }

    /// <summary>The validated name.</summary>
    public string Name => _name ?? throw new InvalidOperationException("A default JobType has no name; construct it with new JobType(name).");

    /// <summary>Checks a name without building a value, for callers that report errors their own way.</summary>
    public static bool IsValid(string? name) => Problem(name) is null;

    private static void Validate(string? name)
    {
        if (Problem(name) is { } problem)
        {
            throw new InvalidJobTypeException(name, problem);
        }
    }

    private static string? Problem(string? name) => NameRule.Problem(name, MaxLength);

    /// <inheritdoc />
    public override string ToString() => _name ?? string.Empty;
}
