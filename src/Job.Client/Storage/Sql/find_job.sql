SELECT j.id, j.job_type, j.config, j.queue_id, j.terminal_state, j.last_error, j.created_at, j.finished_at,
       je.state, je.attempt, je.execute_at, je.priority, je.claimed_by, je.cancel_requested_at
FROM {schema}.jobs j LEFT JOIN {schema}.job_executions je ON je.id = j.id
WHERE j.id = @id
