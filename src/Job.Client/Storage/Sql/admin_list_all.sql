-- A page of jobs in every state, by id: JobId.New() ids are time-ordered, so this is creation order
-- (the primary key, or jobs_type_id / jobs_queue_id with a type or queue; migration 0008). C# adds
-- fixed predicates at /*filters*/ and the direction at {dir}; every value is a parameter.
SELECT j.id, j.job_type, j.queue_id, j.terminal_state, je.state, je.attempt, j.created_at, je.execute_at,
       j.finished_at, j.last_error, coalesce(je.priority, 0)::smallint, NULL::timestamptz AS sort_at
FROM {schema}.jobs j LEFT JOIN {schema}.job_executions je ON je.id = j.id
WHERE true /*filters*/
ORDER BY j.id {dir}
LIMIT @limit
