-- The cluster-wide settings of one job type (@type) or of every type with settings (@type null).
SELECT job_type, paused, max_running, rate_limit, rate_period, updated_at, updated_by
FROM {schema}.job_types
WHERE @type::varchar IS NULL OR job_type = @type
ORDER BY job_type
