-- Jobs that finished after @since, by type and state, with the latest finish time seen: a range of
-- jobs_finished_at, as long as the jobs finished in the interval.
SELECT job_type, terminal_state, count(*)::bigint, max(finished_at)
FROM {schema}.jobs
WHERE terminal_state IS NOT NULL AND finished_at > @since
GROUP BY job_type, terminal_state
