-- One schedule (@name) or every schedule (@name null), by name; removed ones are not shown.
SELECT s.name, s.job_type, s.cron, s.time_zone, s.config::text, s.priority, s.misfire, s.misfire_limit, s.misfire_threshold, s.overlap, s.paused, s.next_tick, s.last_tick, s.last_job_id, s.defined_by, s.declared::text, s.created_at, s.updated_at, s.updated_by, s.version, s.removed
FROM {schema}.job_schedules s
WHERE NOT s.removed AND (@name::varchar IS NULL OR s.name = @name)
ORDER BY s.name
