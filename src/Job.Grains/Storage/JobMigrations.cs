using System.Reflection;
using Npgsql;

namespace Job;

/// <summary>
/// Creates and upgrades every table Job needs: the job tables and the Orleans provider tables
/// (membership, reminders, grain storage) with their named queries.
/// </summary>
public static class JobMigrations
{
    private const string ResourcePrefix = "Job.Migrations.";

    // An arbitrary constant: the advisory lock key that serializes concurrent migration runs.
    private const long AdvisoryLockKey = 0x4A6F624D69677261; // "JobMigra"

    private static readonly Lazy<IReadOnlyList<JobMigration>> s_all = new(Load);

    /// <summary>Every migration in the order it applies.</summary>
    public static IReadOnlyList<JobMigration> All => s_all.Value;

    /// <summary>
    /// Applies the migrations the database lacks, in one transaction under an advisory lock, so
    /// several silos starting together neither race nor half-apply. A database that already has
    /// them all is left untouched.
    /// </summary>
    /// <returns>The names of the migrations this call applied.</returns>
    /// <exception cref="JobMigrationException">A recorded migration differs from the shipped one
    /// (someone edited a released migration), or the database has one this build does not know.</exception>
    public static async Task<IReadOnlyList<string>> RunAsync(NpgsqlDataSource dataSource, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);

        await using (var lockCmd = new NpgsqlCommand("SELECT pg_advisory_xact_lock(@key)", connection, tx))
        {
            lockCmd.Parameters.AddWithValue("key", AdvisoryLockKey);
            await lockCmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await using (var create = new NpgsqlCommand(
            """
            CREATE TABLE IF NOT EXISTS job_schema_migrations (
                name       varchar(200) PRIMARY KEY,
                checksum   char(64) NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now())
            """, connection, tx))
        {
            await create.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        var applied = new Dictionary<string, string>(StringComparer.Ordinal);
        await using (var read = new NpgsqlCommand("SELECT name, checksum FROM job_schema_migrations", connection, tx))
        await using (var reader = await read.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                applied[reader.GetString(0)] = reader.GetString(1);
            }
        }

        var known = All.Select(m => m.Name).ToHashSet(StringComparer.Ordinal);
        if (applied.Keys.FirstOrDefault(name => !known.Contains(name)) is { } unknown)
        {
            throw new JobMigrationException($"The database has migration '{unknown}', which this version of Job does not ship; it was migrated by a newer version. Upgrade this process instead of running an older one against it.");
        }

        var ran = new List<string>();
        foreach (var migration in All)
        {
            if (applied.TryGetValue(migration.Name, out var checksum))
            {
                if (!string.Equals(checksum.Trim(), migration.Checksum, StringComparison.Ordinal))
                {
                    throw new JobMigrationException($"Migration '{migration.Name}' was applied with checksum {checksum.Trim()}, but this build ships {migration.Checksum}; released migrations must never be edited.");
                }

                continue;
            }

            await using (var apply = new NpgsqlCommand(migration.Sql, connection, tx))
            {
                await apply.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await using (var record = new NpgsqlCommand("INSERT INTO job_schema_migrations (name, checksum) VALUES (@name, @checksum)", connection, tx))
            {
                record.Parameters.AddWithValue("name", migration.Name);
                record.Parameters.AddWithValue("checksum", migration.Checksum);
                await record.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            ran.Add(migration.Name);
        }

        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
        return ran;
    }

    private static List<JobMigration> Load()
    {
        var assembly = typeof(JobMigrations).Assembly;
        return assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal) && n.EndsWith(".sql", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .Select(n => new JobMigration(n[ResourcePrefix.Length..^4], ReadResource(assembly, n)))
            .ToList();
    }

    private static string ReadResource(Assembly assembly, string name)
    {
        using var stream = assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"Embedded resource {name} is missing.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}

/// <summary>The schema cannot be brought to the version this build expects.</summary>
public sealed class JobMigrationException : JobException
{
    /// <summary>Creates the error with a message that says what to do.</summary>
    public JobMigrationException(string message) : base(message) { }
}
