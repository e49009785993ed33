-- The job types that have pending (due, unclaimed) jobs: one index probe per such type (a skip scan),
-- whatever the backlog; idle types and future jobs are not visited.
WITH RECURSIVE types AS (
    (SELECT job_type FROM {schema}.job_executions WHERE state = 'pending' ORDER BY job_type LIMIT 1)
    UNION ALL
    SELECT (SELECT e.job_type FROM {schema}.job_executions e
            WHERE e.state = 'pending' AND e.job_type > types.job_type ORDER BY e.job_type LIMIT 1)
    FROM types WHERE types.job_type IS NOT NULL
)
SELECT job_type FROM types WHERE job_type IS NOT NULL
