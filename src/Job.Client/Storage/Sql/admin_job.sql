-- One job with what its page shows beyond the snapshot: trace, execution state, the run's silo and times.
SELECT j.trace_parent, j.unique_per_type, je.state, je.priority, je.execution_state::text, je.claimed_by,
       je.started_at, je.cancel_requested_at, je.alive_at
FROM {schema}.jobs j LEFT JOIN {schema}.job_executions je ON je.id = j.id
WHERE j.id = @id
