-- Puts a schedule read at @version back to its declaration in code (JobSchedules.ResetAsync): the
-- definition as last declared, defined_by code; a removed one comes back, a pause stays. The next
-- tick moves only if the expression or time zone changes. No row: it changed since it was read.
WITH written AS (
    UPDATE {schema}.job_schedules s
    SET job_type = @job_type, cron = @cron, time_zone = @time_zone, config = @config, priority = @priority,
        misfire = @misfire, misfire_limit = @misfire_limit, misfire_threshold = @misfire_threshold, overlap = @overlap,
        next_tick = CASE WHEN s.removed OR s.cron <> @cron OR s.time_zone <> @time_zone THEN @next_tick ELSE s.next_tick END,
        paused = s.paused AND NOT s.removed,
        removed = false, defined_by = 'code', version = s.version + 1, updated_at = now(), updated_by = @by
    WHERE s.name = @name AND s.version = @version AND s.declared IS NOT NULL
    RETURNING s.*
), recorded AS (
    -- The change in the admin record (job_admin_actions, migration 0008; it changes no job), in this statement.
    INSERT INTO {schema}.job_admin_actions (action, job_type, detail, changed, actor, recorded_at)
    SELECT 'schedule-reset', s.job_type, 'schedule=' || s.name, 0, @by, now() FROM written s
)
SELECT s.name, s.job_type, s.cron, s.time_zone, s.config::text, s.priority, s.misfire, s.misfire_limit, s.misfire_threshold, s.overlap, s.paused, s.next_tick, s.last_tick, s.last_job_id, s.defined_by, s.declared::text, s.created_at, s.updated_at, s.updated_by, s.version, s.removed
FROM written s CROSS JOIN LATERAL (SELECT pg_notify('job_schedules', s.name)) AS woken
