-- Finished jobs by type and state: every finished job is read (an index-only scan of
-- jobs_finished_by_type), so callers that refresh often count increments instead (admin_counts_finished_since).
SELECT job_type, terminal_state, count(*)::bigint, max(finished_at)
FROM {schema}.jobs
WHERE terminal_state IS NOT NULL
GROUP BY job_type, terminal_state
