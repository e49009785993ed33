using System.Collections.Concurrent;

namespace Job.Storage;

/// <summary>Reads the named SQL statements embedded from <c>Storage/Sql/*.sql</c>, once each.</summary>
internal static class SqlResources
{
    private static readonly ConcurrentDictionary<string, string> s_cache = new(StringComparer.Ordinal);

    public static string Get(string name) => s_cache.GetOrAdd(name, static n =>
    {
        var resource = $"Job.Sql.{n}.sql";
        using var stream = typeof(SqlResources).Assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"Embedded SQL resource {resource} is missing.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    });
}
