using System.Text.RegularExpressions;

namespace Job;

/// <summary>
/// The PostgreSQL schema that holds Job's tables (and the Orleans tables it creates), <c>job</c>
/// unless configured: a schema of its own, so Job's <c>jobs</c> table never meets an application's.
/// A plain lowercase identifier, so it is never quoted wrongly in statements or migrations.
/// </summary>
public readonly partial record struct JobSchema
{
    /// <summary>The default schema, <c>job</c>.</summary>
    public static readonly JobSchema Default = new("job");

    /// <summary>Creates a schema name after checking it.</summary>
    /// <exception cref="ArgumentException">Not 1–63 characters of lowercase letters, digits and
    /// underscores starting with a letter or underscore, or one of PostgreSQL's own schemas.</exception>
    public JobSchema(string name)
    {
        if (!IsValid(name))
        {
            throw new ArgumentException(
                $"\"{name}\" is not a valid schema for Job: use 1 to 63 lowercase letters, digits and underscores, starting with a letter or underscore (for example \"job\"), and not pg_catalog or information_schema.",
                nameof(name));
        }

        _name = name;
    }

    private readonly string? _name;

    /// <summary>The schema's name (<c>job</c> for a default value).</summary>
    public string Name => _name ?? "job";

    /// <summary>True when <paramref name="name"/> can name Job's schema.</summary>
    public static bool IsValid(string? name) =>
        name is not null && Pattern().IsMatch(name) && !name.StartsWith("pg_", StringComparison.Ordinal) && name != "information_schema";

    /// <inheritdoc />
    public override string ToString() => Name;

    [GeneratedRegex("^[a-z_][a-z0-9_]{0,62}$", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();
}
