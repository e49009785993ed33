-- Pauses a schedule: the leader fires none of its ticks until it is resumed.
WITH written AS (
    UPDATE {schema}.job_schedules s
    SET paused = true, version = s.version + 1, updated_at = now(), updated_by = @by
    WHERE s.name = @name AND NOT s.removed
    RETURNING s.*
), recorded AS (
    -- The change in the admin record (job_admin_actions, migration 0008; it changes no job), in this statement.
    INSERT INTO {schema}.job_admin_actions (action, job_type, detail, changed, actor, recorded_at)
    SELECT 'schedule-pause', s.job_type, 'schedule=' || s.name, 0, @by, now() FROM written s
)
SELECT s.name, s.job_type, s.cron, s.time_zone, s.config::text, s.priority, s.misfire, s.misfire_limit, s.misfire_threshold, s.overlap, s.paused, s.next_tick, s.last_tick, s.last_job_id, s.defined_by, s.declared::text, s.created_at, s.updated_at, s.updated_by, s.version, s.removed
FROM written s CROSS JOIN LATERAL (SELECT pg_notify('job_schedules', s.name)) AS woken
