-- The leader's ticker: the earliest next tick of a running schedule (it sleeps until then).
SELECT min(next_tick) FROM {schema}.job_schedules
WHERE NOT paused AND NOT removed AND NOT (name = ANY (@skip))
