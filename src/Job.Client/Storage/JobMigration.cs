namespace Job;

/// <summary>
/// One schema migration as shipped in this assembly. Migrations are append-only: a released one is
/// never edited (its checksum is recorded, and a mismatch stops <see cref="JobMigrations.RunAsync(Npgsql.NpgsqlDataSource, JobSchema, CancellationToken)"/>).
/// </summary>
/// <param name="Name">The migration's name, for example <c>0001_job_tables</c>; they apply in name order.</param>
/// <param name="Sql">The SQL text, for users who apply it with their own migration tool.</param>
public sealed record JobMigration(string Name, string Sql)
{
    /// <summary>SHA-256 of the SQL, hex, as stored in the history table.</summary>
    public string Checksum { get; } = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(Sql)));
}
