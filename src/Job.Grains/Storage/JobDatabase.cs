using Npgsql;
using NpgsqlTypes;

namespace Job.Storage;

/// <summary>Small helpers for running the embedded statements: one place builds commands and parameters.</summary>
internal static class JobDatabase
{
    public static NpgsqlCommand Command(NpgsqlConnection connection, NpgsqlTransaction? transaction, string sqlName) =>
        new(SqlResources.Get(sqlName), connection, transaction);

    public static NpgsqlCommand Command(NpgsqlDataSource dataSource, string sqlName) =>
        dataSource.CreateCommand(SqlResources.Get(sqlName));

    public static NpgsqlCommand With(this NpgsqlCommand command, string name, object? value, NpgsqlDbType type)
    {
        command.Parameters.Add(new NpgsqlParameter(name, type) { Value = value ?? DBNull.Value });
        return command;
    }

    /// <summary>The latest time stored: a later one (a saturated delay, <c>SpawnAtAsync(DateTimeOffset.MaxValue)</c>)
    /// is stored as this, because Npgsql writes <see cref="DateTime.MaxValue"/> as PostgreSQL's
    /// <c>infinity</c>, which no arithmetic on due times accepts.</summary>
    public static readonly DateTimeOffset LatestTime = new(9999, 12, 31, 0, 0, 0, TimeSpan.Zero);

    public static NpgsqlCommand WithTime(this NpgsqlCommand command, string name, DateTimeOffset? value) =>
        command.With(name, value is { } at && at > LatestTime ? LatestTime.UtcDateTime : value?.UtcDateTime, NpgsqlDbType.TimestampTz);

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
