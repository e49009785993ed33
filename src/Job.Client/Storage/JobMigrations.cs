using System.Globalization;
using System.Reflection;
using System.Text;
using Npgsql;

namespace Job;

/// <summary>
/// Creates and upgrades every table Job needs, in its own schema (<see cref="JobSchema"/>): the job
/// tables and the Orleans provider tables (membership, reminders, grain storage) with their named
/// queries. <see cref="RunAsync(NpgsqlDataSource, JobSchema, CancellationToken)"/> runs exactly the
/// script <see cref="Script"/> prints, so a DBA who applies the printed script by hand leaves the
/// database as the runtime would, history table included.
/// </summary>
public static class JobMigrations
{
    private const string ResourcePrefix = "Job.Migrations.";

    /// <summary>The SQLSTATE the script raises when the database's migrations do not match this build's.</summary>
    internal const string MismatchState = "JM001";

    private static readonly Lazy<IReadOnlyList<JobMigration>> s_all = new(Load);

    /// <summary>Every migration in the order it applies.</summary>
    public static IReadOnlyList<JobMigration> All => s_all.Value;

    /// <summary>Applies what the database lacks in the default schema (<c>job</c>).</summary>
    public static Task<IReadOnlyList<string>> RunAsync(NpgsqlDataSource dataSource, CancellationToken cancellationToken = default) =>
        RunAsync(dataSource, JobSchema.Default, cancellationToken);

    /// <summary>
    /// Applies the migrations the database lacks, in one transaction under an advisory lock, so
    /// several silos starting together neither race nor half-apply. A database that has them all is
    /// left untouched. A database that an earlier release migrated into <c>public</c> is moved into
    /// <paramref name="schema"/> first (migration 0004).
    /// </summary>
    /// <returns>The names of the migrations this call applied.</returns>
    /// <exception cref="JobMigrationException">A recorded migration differs from the shipped one
    /// (someone edited a released migration), or the database has one this build does not know.</exception>
    public static async Task<IReadOnlyList<string>> RunAsync(NpgsqlDataSource dataSource, JobSchema schema, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        var applied = new List<string>();
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        connection.Notice += (_, e) =>
        {
            if (e.Notice.MessageText.StartsWith(AppliedNotice, StringComparison.Ordinal))
            {
                applied.Add(e.Notice.MessageText[AppliedNotice.Length..]);
            }
        };
        await using var tx = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await using (var migrate = new NpgsqlCommand(Body(schema), connection, tx))
            {
                await migrate.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (PostgresException ex) when (ex.SqlState == MismatchState)
        {
            throw new JobMigrationException(ex.MessageText);
        }

        return applied;
    }

    /// <summary>
    /// The whole migration as one SQL script for <paramref name="schema"/>, in one transaction:
    /// applied to a database by hand (psql, a migration tool), it does exactly what
    /// <see cref="RunAsync(NpgsqlDataSource, JobSchema, CancellationToken)"/> does, recording each
    /// migration it applies, so the runtime later finds nothing to do.
    /// </summary>
    public static string Script(JobSchema schema)
    {
        var sb = new StringBuilder();
        sb.Append("-- Job database schema, for schema \"").Append(schema.Name).Append("\": every migration in the order it applies.\n");
        sb.Append("-- It applies only what the database lacks and records what it applied in job_schema_migrations,\n");
        sb.Append("-- exactly as the runtime does at start (JobMigrations.RunAsync), so applied by hand it leaves the\n");
        sb.Append("-- database as the runtime would. One transaction: all or nothing.\n");
        sb.Append("BEGIN;\n").Append(Body(schema)).Append("COMMIT;\n");
        return sb.ToString();
    }

    private const string AppliedNotice = "job migration applied: ";

    // The script without its transaction: the runtime runs it inside one of its own.
    private static string Body(JobSchema schema)
    {
        var s = schema.Name; // a checked plain identifier: safe to write into the script
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"SELECT pg_advisory_xact_lock(hashtextextended('job-migrations:{s}', 0));\n");
        sb.Append(CultureInfo.InvariantCulture, $"CREATE SCHEMA IF NOT EXISTS {s};\n");
        // An earlier release kept its history table in public: move it first, migration 0004 moves the rest.
        sb.Append("DO $job$ BEGIN\n");
        sb.Append(CultureInfo.InvariantCulture, $"    IF '{s}' <> 'public' AND to_regclass('{s}.job_schema_migrations') IS NULL AND to_regclass('public.job_schema_migrations') IS NOT NULL THEN\n");
        sb.Append(CultureInfo.InvariantCulture, $"        ALTER TABLE public.job_schema_migrations SET SCHEMA {s};\n");
        sb.Append("    END IF;\nEND $job$;\n");
        sb.Append(CultureInfo.InvariantCulture, $"SET LOCAL search_path TO {s};\n");
        sb.Append("""
            CREATE TABLE IF NOT EXISTS job_schema_migrations (
                name       varchar(200) PRIMARY KEY,
                checksum   char(64) NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now());

            """);

        // Refuse a database migrated by a newer build, or one whose released migrations were edited.
        var known = string.Join(", ", All.Select(m => $"('{m.Name}', '{m.Checksum}')"));
        sb.Append("DO $job$\nDECLARE\n    v_name text;\n    v_checksum text;\n    v_shipped text;\nBEGIN\n");
        sb.Append(CultureInfo.InvariantCulture, $"    FOR v_name, v_checksum, v_shipped IN SELECT a.name, trim(a.checksum), k.checksum FROM job_schema_migrations a LEFT JOIN (VALUES {known}) AS k (name, checksum) ON k.name = a.name WHERE k.name IS NULL OR k.checksum <> trim(a.checksum) LOOP\n");
        sb.Append("        IF v_shipped IS NOT NULL THEN\n");
        sb.Append(CultureInfo.InvariantCulture, $"            RAISE EXCEPTION USING ERRCODE = '{MismatchState}', MESSAGE = format('Migration ''%s'' was applied with checksum %s, but this build ships %s; released migrations must never be edited.', v_name, v_checksum, v_shipped);\n");
        sb.Append("        END IF;\n");
        sb.Append(CultureInfo.InvariantCulture, $"        RAISE EXCEPTION USING ERRCODE = '{MismatchState}', MESSAGE = format('The database has migration ''%s'', which this version of Job does not ship; it was migrated by a newer version. Upgrade this process instead of running an older one against it.', v_name);\n");
        sb.Append("    END LOOP;\nEND $job$;\n");

        foreach (var migration in All)
        {
            var tag = "$migration_" + migration.Name + "$";
            sb.Append("\n-- ==== Migration ").Append(migration.Name).Append(" (sha256 ").Append(migration.Checksum).Append(") ====\n");
            sb.Append("DO $job$\nBEGIN\n");
            sb.Append(CultureInfo.InvariantCulture, $"    IF NOT EXISTS (SELECT 1 FROM job_schema_migrations WHERE name = '{migration.Name}') THEN\n");
            sb.Append("        EXECUTE ").Append(tag).Append('\n').Append(migration.Sql.TrimEnd()).Append('\n').Append(tag).Append(";\n");
            sb.Append(CultureInfo.InvariantCulture, $"        INSERT INTO job_schema_migrations (name, checksum) VALUES ('{migration.Name}', '{migration.Checksum}');\n");
            sb.Append(CultureInfo.InvariantCulture, $"        RAISE NOTICE '{AppliedNotice}%', '{migration.Name}';\n");
            sb.Append("    END IF;\nEND $job$;\n");
        }

        return sb.ToString();
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
