using System.Collections.Concurrent;
using Npgsql;
using NpgsqlTypes;

namespace Job.Storage;

/// <summary>
/// Job's database: a data source and the schema that holds Job's tables. It makes the commands for
/// the embedded statements with the schema filled in (each statement's text rendered once), on a
/// pooled connection or on a connection and transaction of the caller's.
/// </summary>
internal sealed class JobDatabase(NpgsqlDataSource dataSource, JobSchema schema)
{
    private readonly ConcurrentDictionary<SqlStatement, string> _rendered = new();

    public NpgsqlDataSource DataSource => dataSource;

    public JobSchema Schema => schema;

    /// <summary>A command on a pooled connection of its own (opened and returned by Npgsql).</summary>
    public NpgsqlCommand Command(SqlStatement statement) => dataSource.CreateCommand(Text(statement));

    /// <summary>A command on <paramref name="connection"/>, inside <paramref name="transaction"/> if given.</summary>
    public NpgsqlCommand Command(NpgsqlConnection connection, NpgsqlTransaction? transaction, SqlStatement statement) =>
        new(Text(statement), connection, transaction);

    /// <summary>The statement's text for this schema.</summary>
    public string Text(SqlStatement statement) =>
        _rendered.GetOrAdd(statement, s => s.Template.Replace(SqlStatement.SchemaToken, schema.Name, StringComparison.Ordinal));
}

/// <summary>Parameters and results of the embedded statements, in one place.</summary>
internal static class NpgsqlCommandExtensions
{
    /// <summary>The latest time stored: a later one (a saturated delay, <c>SpawnAtAsync(DateTimeOffset.MaxValue)</c>)
    /// is stored as this, because Npgsql writes <see cref="DateTime.MaxValue"/> as PostgreSQL's
    /// <c>infinity</c>, which no arithmetic on due times accepts.</summary>
    public static readonly DateTimeOffset LatestTime = new(9999, 12, 31, 0, 0, 0, TimeSpan.Zero);

    public static NpgsqlCommand With(this NpgsqlCommand command, string name, object? value, NpgsqlDbType type)
    {
        command.Parameters.Add(new NpgsqlParameter(name, type) { Value = value ?? DBNull.Value });
        return command;
    }

    public static NpgsqlCommand WithTime(this NpgsqlCommand command, string name, DateTimeOffset? value) =>
        command.With(name, value is { } at ? Stored(at) : null, NpgsqlDbType.TimestampTz);

    public static NpgsqlCommand WithTimes(this NpgsqlCommand command, string name, IEnumerable<DateTimeOffset?> values) =>
        command.With(name, values.Select(v => v is { } at ? Stored(at) : (DateTime?)null).ToArray(), NpgsqlDbType.Array | NpgsqlDbType.TimestampTz);

    /// <summary>A time as it is stored: UTC, and no later than <see cref="LatestTime"/>.</summary>
    public static DateTime Stored(DateTimeOffset at) => (at > LatestTime ? LatestTime : at).UtcDateTime;

    /// <summary>Runs the command and maps every row it returns.</summary>
    public static async Task<List<T>> ReadAllAsync<T>(this NpgsqlCommand command, Func<NpgsqlDataReader, T> map, CancellationToken ct)
    {
        await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        var rows = new List<T>();
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            rows.Add(map(reader));
        }

        return rows;
    }

    public static DateTimeOffset? GetTime(this NpgsqlDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : new DateTimeOffset(reader.GetDateTime(ordinal), TimeSpan.Zero);

    public static string? GetStringOrNull(this NpgsqlDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    public static int? GetInt32OrNull(this NpgsqlDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : reader.GetInt32(ordinal);
}
