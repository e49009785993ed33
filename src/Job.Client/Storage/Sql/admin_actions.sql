-- The latest admin operations, newest first.
SELECT seq, action, job_id, job_type, detail, changed, actor, recorded_at
FROM {schema}.job_admin_actions
ORDER BY seq DESC
LIMIT @limit
