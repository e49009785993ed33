-- Jobs that finished after @since, by type and state, with the latest finish time seen: one range of
-- jobs_finished_by_state per terminal state, as long as the jobs finished in the interval.
SELECT job_type, terminal_state, count(*)::bigint, max(finished_at)
FROM {schema}.jobs
WHERE terminal_state IN ('completed', 'errored', 'cancelled') AND finished_at > @since
GROUP BY job_type, terminal_state
