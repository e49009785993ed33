-- Schedules an earlier start declared in code for these job types that the starting silo does not
-- declare: they keep running (only a removal stops them), and the silo says so.
SELECT name, job_type FROM {schema}.job_schedules
WHERE declared IS NOT NULL AND NOT removed AND job_type = ANY (@types) AND NOT (name = ANY (@names))
ORDER BY name
