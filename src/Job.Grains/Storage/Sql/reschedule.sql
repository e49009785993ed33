-- The runner asked to run again at @at: back to pending with the attempt counter at 1. A later due
-- time wakes the type's scheduler; a serial queue may now have another head, of any type, so every
-- poller looks (payload ''). Times in payloads are Unix microseconds.
WITH moved AS (
    UPDATE job_executions
    SET state = 'pending', execute_at = @at, attempt = 1, claim_token = NULL, claimed_by = NULL,
        alive_at = NULL, retry_failed_at = NULL, retry_due_at = NULL
    WHERE id = @id AND claim_token = @token AND state = 'running'
    RETURNING id, job_type, queue_id
), events AS (
    INSERT INTO job_events (job_id, event_type, attempt, scheduled_at, recorded_at)
    SELECT moved.id, e.event_type, e.attempt, e.scheduled_at, @now
    FROM moved CROSS JOIN (VALUES (1, 'execution_completed', @attempt, NULL::timestamptz), (2, 'execution_scheduled', 1, @at))
        AS e (ord, event_type, attempt, scheduled_at)
    ORDER BY e.ord
    RETURNING job_id
)
SELECT count(*), (SELECT count(*) FROM events), count(CASE WHEN queue_id IS NOT NULL THEN pg_notify('job_execution', '') END),
       count(CASE WHEN @at <= @now THEN pg_notify('job_execution', job_type || ' ' || (extract(epoch FROM @at::timestamptz) * 1000000)::bigint) END),
       count(CASE WHEN @at > @now THEN pg_notify('job_scheduled', job_type || ' ' || (extract(epoch FROM @at::timestamptz) * 1000000)::bigint) END)
FROM moved
