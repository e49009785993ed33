-- A page of live jobs in the given execution states (at most the live table, which holds only
-- waiting and running jobs), by due or creation time ({sort}). Predicates at /*filters*/.
SELECT j.id, j.job_type, j.queue_id, NULL::varchar, je.state, je.attempt, j.created_at, je.execute_at,
       NULL::timestamptz, j.last_error, je.priority, {sort} AS sort_at
FROM {schema}.job_executions je JOIN {schema}.jobs j ON j.id = je.id
WHERE je.state = ANY (@states) /*filters*/
ORDER BY {sort} {dir}, je.id {dir}
LIMIT @limit
