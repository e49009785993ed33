-- Per type with pending jobs, the due time of the job it will claim next (its highest priority,
-- longest-waiting one): one index probe per type, for the warning about jobs nobody claims.
SELECT t.job_type, head.execute_at
FROM (
    WITH RECURSIVE types AS (
        (SELECT job_type FROM {schema}.job_executions WHERE state = 'pending' ORDER BY job_type LIMIT 1)
        UNION ALL
        SELECT (SELECT e.job_type FROM {schema}.job_executions e
                WHERE e.state = 'pending' AND e.job_type > types.job_type ORDER BY e.job_type LIMIT 1)
        FROM types WHERE types.job_type IS NOT NULL
    )
    SELECT job_type FROM types WHERE job_type IS NOT NULL
) AS t
CROSS JOIN LATERAL (
    SELECT e.execute_at FROM {schema}.job_executions e
    WHERE e.state = 'pending' AND e.job_type = t.job_type
    ORDER BY e.priority DESC, e.execute_at, e.id
    LIMIT 1
) AS head
WHERE head.execute_at < @before
