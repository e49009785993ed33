using System.Reflection;

namespace Job.Storage;

/// <summary>
/// One SQL statement embedded from a <c>Storage/Sql/*.sql</c> file. Its text names Job's schema as
/// <c>{schema}</c>, which <see cref="JobDatabase"/> replaces with the configured schema: the
/// statements run on the application's connections too (a spawn inside its transaction), whose
/// search_path is the application's, so every name is qualified.
/// </summary>
internal sealed class SqlStatement
{
    public const string SchemaToken = "{schema}";

    private SqlStatement(string name, string template)
    {
        Name = name;
        Template = template;
    }

    /// <summary>The file's name without extension, for errors and profiles.</summary>
    public string Name { get; }

    /// <summary>The text with <see cref="SchemaToken"/> in place of the schema.</summary>
    public string Template { get; }

    /// <summary>Reads the resource <c>{prefix}{name}.sql</c> of <paramref name="assembly"/>.</summary>
    public static SqlStatement Load(Assembly assembly, string prefix, string name)
    {
        var resource = $"{prefix}{name}.sql";
        using var stream = assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"Embedded SQL resource {resource} is missing.");
        using var reader = new StreamReader(stream);
        return new SqlStatement(name, reader.ReadToEnd());
    }

    /// <inheritdoc />
    public override string ToString() => Name;
}
