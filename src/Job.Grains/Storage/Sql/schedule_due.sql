-- The leader's ticker: schedules whose next tick is due at @now, earliest first (index
-- job_schedules_due), leaving out those it is backing off from (@skip).
SELECT name, job_type, cron, time_zone, next_tick, version, misfire, misfire_limit, misfire_threshold
FROM {schema}.job_schedules
WHERE NOT paused AND NOT removed AND next_tick <= @now AND NOT (name = ANY (@skip))
ORDER BY next_tick
LIMIT @limit
