-- A page of finished jobs of one state, by finish time (index jobs_finished_by_state, or
-- jobs_finished_by_type with a type; migration 0008). Predicates at /*filters*/, direction at {dir}.
SELECT j.id, j.job_type, j.queue_id, j.terminal_state, NULL::varchar, NULL::integer, j.created_at, NULL::timestamptz,
       j.finished_at, j.last_error, 0::smallint, j.finished_at AS sort_at
FROM {schema}.jobs j
WHERE j.terminal_state = @state AND j.finished_at IS NOT NULL /*filters*/
ORDER BY j.finished_at {dir}, j.id {dir}
LIMIT @limit
