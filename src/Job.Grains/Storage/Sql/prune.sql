-- Deletes up to @batch finished jobs (of every type) that finished before @before, with their history
-- (job_events, by job id): ranges of jobs_finished_by_state, one per terminal state, oldest first
-- within each. Unfinished jobs are never touched: a job without a terminal state is not matched.
WITH doomed AS (
    SELECT id
    FROM {schema}.jobs
    WHERE terminal_state IN ('completed', 'errored', 'cancelled') AND finished_at < @before
    LIMIT @batch
    FOR UPDATE SKIP LOCKED
), history AS (
    DELETE FROM {schema}.job_events e
    USING doomed
    WHERE e.job_id = doomed.id
)
DELETE FROM {schema}.jobs j
USING doomed
WHERE j.id = doomed.id
