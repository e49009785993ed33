using System.Text.RegularExpressions;
using Job.Tests.Infrastructure;
using Npgsql;

namespace Job.Tests.Foundation;

public sealed partial class MigrationTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    private static readonly string[] ExpectedTables =
    [
        "jobs", "job_executions", "job_events", "job_schema_migrations",
        "orleansquery", "orleans_membership", "orleans_membership_version", "orleans_reminders", "orleans_storage",
    ];

    private static IReadOnlyList<string> AllNames => JobMigrations.All.Select(m => m.Name).ToList();

    [Fact]
    public async Task Migrations_apply_to_an_empty_database()
    {
        var cs = await db.CreateDatabaseAsync();
        await using var source = NpgsqlDataSource.Create(cs);
        Assert.Empty(await TablesAsync(source));

        var applied = await JobMigrations.RunAsync(source);

        Assert.Equal(AllNames, applied);
        var tables = await TablesAsync(source);
        foreach (var table in ExpectedTables)
        {
            Assert.Contains(table, tables);
        }

        var history = await HistoryAsync(source);
        Assert.Equal(AllNames, history.Select(h => h.Name));
        Assert.Equal(JobMigrations.All.Select(m => m.Checksum), history.Select(h => h.Checksum));

        // The named queries the Orleans providers refuse to start without.
        var keys = await ListAsync(source, "SELECT querykey FROM orleansquery ORDER BY querykey");
        foreach (var key in new[]
                 {
                     "InsertMembershipVersionKey", "InsertMembershipKey", "UpdateMembershipKey", "UpdateIAmAlivetimeKey",
                     "MembershipReadAllKey", "MembershipReadRowKey", "GatewaysQueryKey", "DeleteMembershipTableEntriesKey",
                     "CleanupDefunctSiloEntriesKey", "ReadReminderRowKey", "ReadReminderRowsKey", "UpsertReminderRowKey",
                     "DeleteReminderRowKey", "DeleteReminderRowsKey", "ReadFromStorageKey", "WriteToStorageKey", "ClearStorageKey",
                 })
        {
            Assert.Contains(key, keys);
        }
    }

    [Fact]
    public async Task A_second_run_applies_nothing_and_changes_nothing()
    {
        var cs = await db.CreateDatabaseAsync();
        await using var source = NpgsqlDataSource.Create(cs);
        Assert.Equal(AllNames, await JobMigrations.RunAsync(source));
        var before = await SnapshotAsync(source);

        var second = await JobMigrations.RunAsync(source);
        var third = await JobMigrations.RunAsync(source);

        Assert.Empty(second);
        Assert.Empty(third);
        Assert.Equal(before, await SnapshotAsync(source));
    }

    [Fact]
    public async Task Concurrent_runs_on_a_fresh_database_apply_each_migration_exactly_once()
    {
        var cs = await db.CreateDatabaseAsync();
        await using var source = NpgsqlDataSource.Create(cs);

        using var start = new ManualResetEventSlim();
        var runs = Enumerable.Range(0, 4)
            .Select(_ => Task.Run(async () =>
            {
                start.Wait();
                return await JobMigrations.RunAsync(source);
            }))
            .ToArray();
        start.Set();
        var results = await Task.WhenAll(runs);

        var allApplied = results.SelectMany(r => r).ToList();
        Assert.Equal(AllNames.Order(StringComparer.Ordinal), allApplied.Order(StringComparer.Ordinal));
        // Each run is one transaction: one run applies everything, the others nothing.
        Assert.Single(results, r => r.Count > 0);
        Assert.Equal(AllNames, (await HistoryAsync(source)).Select(h => h.Name));
    }

    [Fact]
    public async Task An_edited_checksum_stops_the_run_until_restored()
    {
        var cs = await db.CreateDatabaseAsync();
        await using var source = NpgsqlDataSource.Create(cs);
        await JobMigrations.RunAsync(source);
        var victim = JobMigrations.All[0];
        var before = await SnapshotAsync(source);

        await ExecAsync(source, "UPDATE job_schema_migrations SET checksum = @c WHERE name = @n", ("c", new string('0', 64)), ("n", victim.Name));
        var error = await Assert.ThrowsAsync<JobMigrationException>(() => JobMigrations.RunAsync(source));
        Assert.Contains(victim.Name, error.Message, StringComparison.Ordinal);
        Assert.Contains(victim.Checksum, error.Message, StringComparison.Ordinal);

        await ExecAsync(source, "UPDATE job_schema_migrations SET checksum = @c WHERE name = @n", ("c", victim.Checksum), ("n", victim.Name));
        Assert.Empty(await JobMigrations.RunAsync(source));
        Assert.Equal(before, await SnapshotAsync(source));
    }

    [Fact]
    public async Task A_migration_unknown_to_this_build_stops_the_run()
    {
        var cs = await db.CreateDatabaseAsync();
        await using var source = NpgsqlDataSource.Create(cs);
        await JobMigrations.RunAsync(source);

        await ExecAsync(source, "INSERT INTO job_schema_migrations (name, checksum) VALUES ('9999_from_the_future', @c)", ("c", new string('a', 64)));
        var error = await Assert.ThrowsAsync<JobMigrationException>(() => JobMigrations.RunAsync(source));
        Assert.Contains("9999_from_the_future", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void All_is_ordered_by_name_and_every_migration_has_sql()
    {
        var all = JobMigrations.All;
        Assert.True(all.Count >= 2, $"expected at least the job and Orleans migrations, found {all.Count}");
        Assert.Equal(all.Select(m => m.Name).Order(StringComparer.Ordinal), all.Select(m => m.Name));
        Assert.Equal(all.Count, all.Select(m => m.Name).Distinct(StringComparer.Ordinal).Count());
        Assert.Equal("0001_job_tables", all[0].Name);
        Assert.Contains(all, m => m.Name == "0002_orleans_providers");
        foreach (var migration in all)
        {
            Assert.Matches(NamePattern(), migration.Name);
            Assert.False(string.IsNullOrWhiteSpace(migration.Sql), $"{migration.Name} has no SQL");
            Assert.Matches(ChecksumPattern(), migration.Checksum);
        }
    }

    [Fact]
    public async Task The_printed_script_applied_by_hand_leaves_the_database_as_migrate_would()
    {
        await using var byHand = NpgsqlDataSource.Create(await db.CreateDatabaseAsync());
        await using var byRuntime = NpgsqlDataSource.Create(await db.CreateDatabaseAsync());

        await ExecAsync(byHand, JobMigrations.Script(JobSchema.Default)); // what `migrate --print` prints, as a DBA applies it
        await JobMigrations.RunAsync(byRuntime);

        Assert.Empty(await JobMigrations.RunAsync(byHand)); // the runtime finds nothing to do …
        Assert.Equal(Structure(await SnapshotAsync(byRuntime)), Structure(await SnapshotAsync(byHand))); // … and the same schema
        Assert.Equal(AllNames, (await HistoryAsync(byHand)).Select(h => h.Name));
        await ExecAsync(byHand, JobMigrations.Script(JobSchema.Default)); // applied twice: a no-op
    }

    [Fact]
    public async Task Job_Silo_migrate_print_applied_by_hand_leaves_nothing_for_migrate_to_do()
    {
        // The command a DBA runs, with the schema the workers are configured with; no database needed.
        var printed = await DotnetProcess.RunAsync("Job.Silo.dll", ["migrate", "--print", "--Jobs:Schema=dba_jobs"], TimeSpan.FromSeconds(60),
            new Dictionary<string, string> { ["ConnectionStrings__Jobs"] = "Host=127.0.0.1;Port=1;Database=none" });
        Assert.True(printed.ExitCode == 0, printed.Output);
        await using var byHand = NpgsqlDataSource.Create(await db.CreateDatabaseAsync());

        await ExecAsync(byHand, printed.StdOut);

        Assert.Empty(await JobMigrations.RunAsync(byHand, new JobSchema("dba_jobs"))); // the next start finds nothing to do
        Assert.Equal(["jobs"], await ListAsync(byHand, "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'dba_jobs' AND table_name = 'jobs'"));
        await ExecAsync(byHand, printed.StdOut); // applied twice: a no-op
    }

    [Fact]
    public async Task An_installation_of_the_previous_release_moves_into_its_own_schema_with_its_jobs()
    {
        await using var source = NpgsqlDataSource.Create(await db.CreateDatabaseAsync());
        // The previous release: migrations 0001-0003 in public, recorded in public.job_schema_migrations.
        var previous = JobMigrations.All.Take(3).ToList();
        Assert.Equal("0003_history_retention", previous[^1].Name);
        await ExecAsync(source, "CREATE TABLE public.job_schema_migrations (name varchar(200) PRIMARY KEY, checksum char(64) NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())");
        foreach (var migration in previous)
        {
            await ExecAsync(source, "SET search_path TO public;\n" + migration.Sql);
            await ExecAsync(source, "INSERT INTO public.job_schema_migrations (name, checksum) VALUES (@n, @c)", ("n", migration.Name), ("c", migration.Checksum));
        }

        var due = Guid.CreateVersion7();
        var later = Guid.CreateVersion7();
        await ExecAsync(source, """
            INSERT INTO public.jobs (id, job_type, config, created_at) VALUES (@due, 'moved', '{}', now()), (@later, 'moved', '{}', now());
            INSERT INTO public.job_executions (id, job_type, execute_at, created_at) VALUES (@due, 'moved', now() - interval '1 minute', now()), (@later, 'moved', now() + interval '1 day', now());
            """, ("due", due), ("later", later));

        var applied = await JobMigrations.RunAsync(source);

        Assert.Equal(AllNames.Skip(3), applied);
        Assert.Empty(await ListAsync(source, "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'"));
        Assert.Equal(["moved", "moved"], await ListAsync(source, "SELECT job_type::text FROM job.jobs ORDER BY id"));
        Assert.Equal(["pending", "scheduled"], await ListAsync(source, "SELECT state::text FROM job.job_executions ORDER BY execute_at"));
        Assert.Equal(AllNames, (await HistoryAsync(source)).Select(h => h.Name));
        Assert.Empty(await JobMigrations.RunAsync(source));
    }

    [Fact]
    public async Task Migrations_leave_an_applications_own_jobs_table_alone()
    {
        await using var source = NpgsqlDataSource.Create(await db.CreateDatabaseAsync());
        await ExecAsync(source, "CREATE TABLE public.jobs (id int PRIMARY KEY, title text); INSERT INTO public.jobs VALUES (1, 'the application''s own')");

        await JobMigrations.RunAsync(source);

        Assert.Equal(["the application's own"], await ListAsync(source, "SELECT title FROM public.jobs"));
        Assert.Contains("job_executions", await TablesAsync(source));
    }

    [Fact]
    public async Task After_0012_a_silo_of_the_previous_release_still_writes_its_outcome_with_the_ten_array_finish()
    {
        var cs = await db.CreateDatabaseAsync();
        await using var client = JobClient.Create(new JobClientOptions { ConnectionString = cs });
        await client.MigrateAsync();
        var job = await client.Spawner<Runtime.TestConfig>(new JobType("old-release")).SpawnAsync(JobId.New(), new Runtime.TestConfig());
        await using var source = NpgsqlDataSource.Create(cs);
        await ExecAsync(source, "UPDATE job.job_executions SET state = 'running', claim_token = 42, claimed_by = 'old-silo', alive_at = now(), started_at = now() WHERE id = @id", ("id", job.Id.Value));

        // The call of finish.sql before 0012: ten arrays, no details.
        await using var cmd = source.CreateCommand(
            "SELECT count(*) FROM job.job_finish(@ids, @tokens, @kinds, @attempts, @next_attempts, @at, @resets, @messages, @error_types, now())");
        cmd.Parameters.AddWithValue("ids", new[] { job.Id.Value });
        cmd.Parameters.AddWithValue("tokens", new[] { 42L });
        cmd.Parameters.AddWithValue("kinds", new short[] { 4 });
        cmd.Parameters.AddWithValue("attempts", new[] { 1 });
        cmd.Parameters.AddWithValue("next_attempts", new[] { 0 });
        cmd.Parameters.Add(new NpgsqlParameter("at", NpgsqlTypes.NpgsqlDbType.Array | NpgsqlTypes.NpgsqlDbType.TimestampTz) { Value = new DateTime?[] { null } });
        cmd.Parameters.AddWithValue("resets", new[] { false });
        cmd.Parameters.AddWithValue("messages", new[] { "failed on a silo of the previous release" });
        cmd.Parameters.Add(new NpgsqlParameter("error_types", NpgsqlTypes.NpgsqlDbType.Array | NpgsqlTypes.NpgsqlDbType.Varchar) { Value = new[] { "System.Exception" } });
        Assert.Equal(1L, await cmd.ExecuteScalarAsync());

        var found = await client.FindAsync(job.Id);
        Assert.Equal(JobTerminalState.Errored, found.TerminalState);
        var failure = Assert.Single(found.Events, e => e.Type == JobEventTypes.ExecutionErrored);
        Assert.Equal("failed on a silo of the previous release", failure.ErrorMessage);
        Assert.Null(failure.ErrorDetail);
    }

    // The schema without the history's applied_at times.
    private static List<string> Structure(List<string> snapshot) =>
        [.. snapshot.Select(line => line.StartsWith("mig ", StringComparison.Ordinal) ? string.Join(' ', line.Split(' ').Take(3)) : line)];

    private static async Task<List<string>> TablesAsync(NpgsqlDataSource source) =>
        await ListAsync(source, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'job' ORDER BY 1");

    private static async Task<List<(string Name, string Checksum)>> HistoryAsync(NpgsqlDataSource source)
    {
        var rows = new List<(string, string)>();
        await using var cmd = source.CreateCommand("SELECT name, checksum FROM job_schema_migrations ORDER BY name");
        await using var reader = await cmd.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows.Add((reader.GetString(0), reader.GetString(1).Trim()));
        }

        return rows;
    }

    /// <summary>Every column, index, constraint, named query and history row (with its applied_at).</summary>
    private static async Task<List<string>> SnapshotAsync(NpgsqlDataSource source) =>
        await ListAsync(source, """
            SELECT 'col ' || table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' || coalesce(column_default, '')
              FROM information_schema.columns WHERE table_schema = 'job'
            UNION ALL
            SELECT 'idx ' || indexdef FROM pg_indexes WHERE schemaname = 'job'
            UNION ALL
            SELECT 'con ' || conname || ' ' || pg_get_constraintdef(c.oid)
              FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = 'job'
            UNION ALL
            SELECT 'qry ' || querykey || ' ' || md5(querytext) FROM orleansquery
            UNION ALL
            SELECT 'mig ' || name || ' ' || checksum || ' ' || applied_at::text FROM job_schema_migrations
            ORDER BY 1
            """);

    private static async Task<List<string>> ListAsync(NpgsqlDataSource source, string sql)
    {
        var rows = new List<string>();
        await using var cmd = source.CreateCommand(sql);
        await using var reader = await cmd.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows.Add(reader.GetString(0));
        }

        return rows;
    }

    private static async Task ExecAsync(NpgsqlDataSource source, string sql, params (string Name, object Value)[] parameters)
    {
        await using var cmd = source.CreateCommand(sql);
        foreach (var (name, value) in parameters)
        {
            cmd.Parameters.AddWithValue(name, value);
        }

        await cmd.ExecuteNonQueryAsync();
    }

    [GeneratedRegex(@"^\d{4}_[a-z0-9_]+$")]
    private static partial Regex NamePattern();

    [GeneratedRegex("^[0-9a-f]{64}$")]
    private static partial Regex ChecksumPattern();
}
