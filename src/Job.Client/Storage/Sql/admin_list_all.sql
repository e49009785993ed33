-- A page of jobs in every state, by creation time (index jobs_created, or jobs_type_created /
-- jobs_queue_created with a type or queue; migration 0008). C# adds fixed predicates at /*filters*/
-- and the direction at {dir}/{cmp}; every value is a parameter.
SELECT j.id, j.job_type, j.queue_id, j.terminal_state, je.state, je.attempt, j.created_at, je.execute_at,
       j.finished_at, j.last_error, coalesce(je.priority, 0)::smallint, j.created_at AS sort_at
FROM {schema}.jobs j LEFT JOIN {schema}.job_executions je ON je.id = j.id
WHERE true /*filters*/
ORDER BY j.created_at {dir}, j.id {dir}
LIMIT @limit
