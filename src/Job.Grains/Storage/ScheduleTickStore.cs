using NpgsqlTypes;

namespace Job.Storage;

/// <summary>A schedule due to tick, as the leader's ticker reads it.</summary>
internal sealed record DueSchedule(string Name, string JobType, string Cron, string TimeZone, DateTimeOffset NextTick, long Version,
    JobMisfirePolicy Misfire, TimeSpan MisfireThreshold);

/// <summary>One planned tick's result: spawned (with its job), skipped (overlap), duplicate (handled
/// before) or stale (the schedule changed since it was read: plan again).</summary>
internal sealed record FiredTick(DateTimeOffset? Tick, JobId? JobId, string Outcome);

/// <summary>The statements of the cluster's schedule ticker (run by its leader).</summary>
internal sealed class ScheduleTickStore(JobDatabase database)
{
    public async Task<IReadOnlyList<DueSchedule>> DueAsync(DateTimeOffset now, int limit, string[] skip, CancellationToken ct)
    {
        await using var cmd = database.Command(RuntimeSql.ScheduleDue)
            .WithTime("now", now)
            .With("limit", limit, NpgsqlDbType.Integer)
            .With("skip", skip, NpgsqlDbType.Array | NpgsqlDbType.Varchar);
        return await cmd.ReadAllAsync(r => new DueSchedule(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetTime(4)!.Value,
            r.GetInt64(5), JobMisfirePolicy.FromStored(r.GetString(6), r.GetInt32(7)), r.GetFieldValue<TimeSpan>(8)), ct).ConfigureAwait(false);
    }

    public async Task<DateTimeOffset?> NextAsync(string[] skip, CancellationToken ct)
    {
        await using var cmd = database.Command(RuntimeSql.ScheduleNext).With("skip", skip, NpgsqlDbType.Array | NpgsqlDbType.Varchar);
        var value = await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false);
        return value is DateTime at ? new DateTimeOffset(at, TimeSpan.Zero) : null;
    }

    public async Task<IReadOnlyList<FiredTick>> FireAsync(DueSchedule schedule, IReadOnlyList<DateTimeOffset> ticks, DateTimeOffset? next,
        string? traceParent, DateTimeOffset now, CancellationToken ct)
    {
        await using var cmd = database.Command(RuntimeSql.ScheduleFire)
            .With("name", schedule.Name, NpgsqlDbType.Varchar)
            .With("version", schedule.Version, NpgsqlDbType.Bigint)
            .WithTimes("ticks", ticks.Select(t => (DateTimeOffset?)t))
            .With("ids", ticks.Select(_ => JobId.New().Value).ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Uuid)
            .WithTime("next_tick", next)
            .With("trace_parent", traceParent, NpgsqlDbType.Varchar)
            .WithTime("now", now);
        return await cmd.ReadAllAsync(r => new FiredTick(r.GetTime(0), r.IsDBNull(1) ? null : new JobId(r.GetGuid(1)), r.GetString(2)), ct).ConfigureAwait(false);
    }

    /// <summary>Deletes up to <paramref name="batch"/> tick records handled before <paramref name="before"/>.</summary>
    public async Task<int> PruneAsync(DateTimeOffset before, int batch, CancellationToken ct)
    {
        await using var cmd = database.Command(RuntimeSql.ScheduleTicksPrune)
            .WithTime("before", before)
            .With("batch", batch, NpgsqlDbType.Integer);
        return await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }
}
