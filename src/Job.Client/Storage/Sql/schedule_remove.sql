-- Removes a schedule: deleted when it was created at run time; kept as removed when it is declared
-- in code, so that an unchanged declaration does not bring it back at the next start (a changed one
-- does). Returns how many were removed (0: none by that name).
WITH tombstoned AS (
    UPDATE {schema}.job_schedules s
    SET removed = true, paused = false, version = s.version + 1, updated_at = now(), updated_by = @by
    WHERE s.name = @name AND NOT s.removed AND s.declared IS NOT NULL
    RETURNING s.name, s.job_type
), deleted AS (
    DELETE FROM {schema}.job_schedules s WHERE s.name = @name AND s.declared IS NULL
    RETURNING s.name, s.job_type
), recorded AS (
    -- The change in the admin record (job_admin_actions, migration 0008; it changes no job), in this statement.
    INSERT INTO {schema}.job_admin_actions (action, job_type, detail, changed, actor, recorded_at)
    SELECT 'schedule-remove', s.job_type, 'schedule=' || s.name, 0, @by, now() FROM (SELECT * FROM tombstoned UNION ALL SELECT * FROM deleted) AS s
)
SELECT count(pg_notify('job_schedules', r.name))::integer
FROM (SELECT name FROM tombstoned UNION ALL SELECT name FROM deleted) AS r
