-- Live jobs by type and state, for the job.queue.depth gauge.
SELECT job_type, state, count(*) FROM {schema}.job_executions GROUP BY job_type, state
