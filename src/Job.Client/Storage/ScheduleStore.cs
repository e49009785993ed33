using Job.Scheduling;
using Npgsql;
using NpgsqlTypes;

namespace Job.Storage;

/// <summary>A schedule's row as read, with what the API does not show (its version, whether it is
/// removed, its declaration).</summary>
internal sealed record StoredSchedule(JobSchedule Schedule, long Version, bool Removed, string? DeclaredJson);

/// <summary>Reads and writes recurring schedules (table job_schedules, migration 0007). Every write is
/// one statement (one transaction) and wakes the cluster's leader on job_schedules.</summary>
internal sealed class ScheduleStore(JobDatabase database)
{
    public async Task<JobSchedule> SetAsync(ScheduleDefinition definition, DateTimeOffset? nextTick, string? by, CancellationToken ct)
    {
        await using var cmd = Definition(database.Command(ClientSql.ScheduleSet), definition)
            .WithTime("next_tick", nextTick)
            .With("by", by, NpgsqlDbType.Text);
        return (await cmd.ReadAllAsync(Read, ct).ConfigureAwait(false))[0].Schedule;
    }

    /// <summary>One schedule (removed ones only with <paramref name="includeRemoved"/>), or null.</summary>
    public async Task<StoredSchedule?> FindAsync(string name, bool includeRemoved, CancellationToken ct)
    {
        await using var cmd = database.Command(includeRemoved ? ClientSql.ScheduleReadAny : ClientSql.ScheduleRead)
            .With("name", name, NpgsqlDbType.Varchar);
        var rows = await cmd.ReadAllAsync(Read, ct).ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0];
    }

    public async Task<IReadOnlyList<JobSchedule>> ListAsync(CancellationToken ct)
    {
        await using var cmd = database.Command(ClientSql.ScheduleRead).With("name", null, NpgsqlDbType.Varchar);
        return [.. (await cmd.ReadAllAsync(Read, ct).ConfigureAwait(false)).Select(r => r.Schedule)];
    }

    public async Task<JobSchedule?> PauseAsync(string name, string? by, CancellationToken ct)
    {
        await using var cmd = database.Command(ClientSql.SchedulePause)
            .With("name", name, NpgsqlDbType.Varchar)
            .With("by", by, NpgsqlDbType.Text);
        var rows = await cmd.ReadAllAsync(Read, ct).ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0].Schedule;
    }

    /// <summary>Null when the row changed since <paramref name="version"/> (or went away).</summary>
    public async Task<JobSchedule?> ResumeAsync(string name, long version, DateTimeOffset now, DateTimeOffset? nextTick, string? by, CancellationToken ct)
    {
        await using var cmd = database.Command(ClientSql.ScheduleResume)
            .With("name", name, NpgsqlDbType.Varchar)
            .With("version", version, NpgsqlDbType.Bigint)
            .WithTime("now", now)
            .WithTime("next_tick", nextTick)
            .With("by", by, NpgsqlDbType.Text);
        var rows = await cmd.ReadAllAsync(Read, ct).ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0].Schedule;
    }

    /// <summary>Null when the row changed since <paramref name="version"/> (or went away).</summary>
    public async Task<JobSchedule?> ResetAsync(ScheduleDefinition declared, long version, DateTimeOffset? nextTick, string? by, CancellationToken ct)
    {
        await using var cmd = Definition(database.Command(ClientSql.ScheduleReset), declared)
            .With("version", version, NpgsqlDbType.Bigint)
            .WithTime("next_tick", nextTick)
            .With("by", by, NpgsqlDbType.Text);
        var rows = await cmd.ReadAllAsync(Read, ct).ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0].Schedule;
    }

    public async Task<bool> RemoveAsync(string name, string? by, CancellationToken ct)
    {
        await using var cmd = database.Command(ClientSql.ScheduleRemove)
            .With("name", name, NpgsqlDbType.Varchar)
            .With("by", by, NpgsqlDbType.Text);
        return await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false) is int removed && removed > 0;
    }

    public async Task<IReadOnlyList<JobScheduleTick>> TicksAsync(string name, int limit, CancellationToken ct)
    {
        await using var cmd = database.Command(ClientSql.ScheduleTicks)
            .With("name", name, NpgsqlDbType.Varchar)
            .With("limit", limit, NpgsqlDbType.Integer);
        return await cmd.ReadAllAsync(r => new JobScheduleTick(
            r.GetTime(0)!.Value,
            r.GetString(1) == "skipped" ? JobScheduleTickOutcome.Skipped : JobScheduleTickOutcome.Spawned,
            r.IsDBNull(2) ? null : new JobId(r.GetGuid(2)),
            r.GetTime(3)!.Value), ct).ConfigureAwait(false);
    }

    /// <summary>Applies a declaration in code; returns created, changed or unchanged.</summary>
    public async Task<string> DeclareAsync(ScheduleDefinition definition, DateTimeOffset? nextTick, CancellationToken ct)
    {
        await using var connection = await database.DataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var tx = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);
        string outcome;
        await using (var cmd = Definition(database.Command(connection, tx, ClientSql.ScheduleDeclare), definition)
            .With("declared", definition.ToJson(), NpgsqlDbType.Jsonb)
            .With("hash", definition.Hash(), NpgsqlDbType.Varchar)
            .WithTime("next_tick", nextTick))
        {
            outcome = (string)(await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
        }

        await tx.CommitAsync(ct).ConfigureAwait(false);
        return outcome;
    }

    /// <summary>Schedules declared in code by an earlier start, for <paramref name="types"/>, that are not in <paramref name="names"/>.</summary>
    public async Task<IReadOnlyList<(string Name, string JobType)>> UndeclaredAsync(IReadOnlyCollection<string> types, IReadOnlyCollection<string> names, CancellationToken ct)
    {
        await using var cmd = database.Command(ClientSql.ScheduleUndeclared)
            .With("types", types.ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Varchar)
            .With("names", names.ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Varchar);
        return await cmd.ReadAllAsync(r => (r.GetString(0), r.GetString(1)), ct).ConfigureAwait(false);
    }

    private static NpgsqlCommand Definition(NpgsqlCommand cmd, ScheduleDefinition d) => cmd
        .With("name", d.Name, NpgsqlDbType.Varchar)
        .With("job_type", d.JobType.Name, NpgsqlDbType.Varchar)
        .With("cron", d.Cron, NpgsqlDbType.Varchar)
        .With("time_zone", d.TimeZone, NpgsqlDbType.Varchar)
        .With("config", d.ConfigJson, NpgsqlDbType.Jsonb)
        .With("priority", d.Priority, NpgsqlDbType.Smallint)
        .With("misfire", d.Misfire.Stored, NpgsqlDbType.Varchar)
        .With("misfire_limit", d.Misfire.Limit, NpgsqlDbType.Integer)
        .With("misfire_threshold", d.MisfireThreshold, NpgsqlDbType.Interval)
        .With("overlap", d.OverlapStored, NpgsqlDbType.Varchar);

    internal static StoredSchedule Read(NpgsqlDataReader r) => new(
        new JobSchedule
        {
            Name = r.GetString(0),
            JobType = new JobType(r.GetString(1)),
            Cron = r.GetString(2),
            TimeZone = r.GetString(3),
            ConfigJson = r.GetString(4),
            Priority = r.GetInt16(5),
            Misfire = JobMisfirePolicy.FromStored(r.GetString(6), r.GetInt32(7)),
            MisfireThreshold = r.GetFieldValue<TimeSpan>(8),
            Overlap = ScheduleDefinition.OverlapFromStored(r.GetString(9)),
            Paused = r.GetBoolean(10),
            NextTick = r.GetTime(11),
            LastTick = r.GetTime(12),
            LastJobId = r.IsDBNull(13) ? null : new JobId(r.GetGuid(13)),
            Source = r.GetString(14) == "code" ? JobScheduleSource.Code : JobScheduleSource.RunTime,
            DeclaredInCode = !r.IsDBNull(15),
            CreatedAt = r.GetTime(16)!.Value,
            UpdatedAt = r.GetTime(17)!.Value,
            UpdatedBy = r.GetStringOrNull(18),
        },
        r.GetInt64(19),
        r.GetBoolean(20),
        r.GetStringOrNull(15));
}
