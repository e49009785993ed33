-- Completes claimed jobs (one or a batch). The fencing token must match: a stale claim (the job
-- was rescued and claimed again elsewhere) deletes nothing and records nothing.
WITH input AS (
    SELECT * FROM unnest(@ids::uuid[], @tokens::bigint[], @attempts::int[]) AS t (id, token, attempt)
), done AS (
    DELETE FROM job_executions je USING input
    WHERE je.id = input.id AND je.claim_token = input.token AND je.state = 'running'
    RETURNING je.id, je.job_type, je.queue_id, input.attempt
), finished AS (
    UPDATE jobs SET terminal_state = 'completed', finished_at = @now
    FROM done WHERE jobs.id = done.id
    RETURNING jobs.id, jobs.awaited
), events AS (
    INSERT INTO job_events (job_id, event_type, attempt, recorded_at)
    SELECT done.id, e.event_type, done.attempt, @now
    FROM done CROSS JOIN (VALUES (1, 'execution_completed'), (2, 'job_completed')) AS e (ord, event_type)
    ORDER BY done.id, e.ord
    RETURNING job_id
)
SELECT done.id,
       (SELECT count(*) FROM events) * 0 AS written,
       CASE WHEN done.queue_id IS NOT NULL THEN pg_notify('job_execution', '') END, -- the queue's next head may be of any type
       CASE WHEN finished.awaited THEN pg_notify('job_terminal', done.id::text) END
FROM done JOIN finished ON finished.id = done.id
