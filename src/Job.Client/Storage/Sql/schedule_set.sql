-- Creates or replaces a schedule at run time (JobSchedules.SetAsync; table job_schedules, migration
-- 0007) in one statement. The next tick moves to @next_tick only for a new schedule, a removed one
-- brought back, or a changed expression or time zone: a changed config neither skips nor repeats a
-- tick. A pause stays. The leader hears the name on job_schedules and looks again.
WITH written AS (
    INSERT INTO {schema}.job_schedules AS s (name, job_type, cron, time_zone, config, priority, misfire, misfire_limit,
                                            misfire_threshold, overlap, next_tick, defined_by, updated_by)
    VALUES (@name, @job_type, @cron, @time_zone, @config, @priority, @misfire, @misfire_limit,
            @misfire_threshold, @overlap, @next_tick, 'run_time', @by)
    ON CONFLICT (name) DO UPDATE SET
        job_type = EXCLUDED.job_type, cron = EXCLUDED.cron, time_zone = EXCLUDED.time_zone, config = EXCLUDED.config,
        priority = EXCLUDED.priority, misfire = EXCLUDED.misfire, misfire_limit = EXCLUDED.misfire_limit,
        misfire_threshold = EXCLUDED.misfire_threshold, overlap = EXCLUDED.overlap,
        next_tick = CASE WHEN s.removed OR s.cron <> EXCLUDED.cron OR s.time_zone <> EXCLUDED.time_zone
                         THEN EXCLUDED.next_tick ELSE s.next_tick END,
        paused = s.paused AND NOT s.removed,
        removed = false, defined_by = 'run_time', version = s.version + 1, updated_at = now(), updated_by = EXCLUDED.updated_by
    RETURNING s.*
), recorded AS (
    -- The change in the admin record (job_admin_actions, migration 0008; it changes no job), in this statement.
    INSERT INTO {schema}.job_admin_actions (action, job_type, detail, changed, actor, recorded_at)
    SELECT 'schedule-set', s.job_type, 'schedule=' || s.name || ' cron=' || s.cron || ' ' || s.time_zone, 0, @by, now() FROM written s
)
SELECT s.name, s.job_type, s.cron, s.time_zone, s.config::text, s.priority, s.misfire, s.misfire_limit, s.misfire_threshold, s.overlap, s.paused, s.next_tick, s.last_tick, s.last_job_id, s.defined_by, s.declared::text, s.created_at, s.updated_at, s.updated_by, s.version, s.removed
FROM written s CROSS JOIN LATERAL (SELECT pg_notify('job_schedules', s.name)) AS woken
