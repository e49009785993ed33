-- A schedule's latest handled ticks, newest first.
SELECT tick, outcome, job_id, recorded_at
FROM {schema}.job_schedule_ticks
WHERE schedule = @name
ORDER BY tick DESC
LIMIT @limit
