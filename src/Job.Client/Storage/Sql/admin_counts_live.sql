-- Live jobs by type and execution state, and the oldest due time of the pending ones (a scan of the
-- live table: it holds only waiting and running jobs).
SELECT job_type, state, count(*)::bigint, min(execute_at) FILTER (WHERE state = 'pending')
FROM {schema}.job_executions
GROUP BY job_type, state
