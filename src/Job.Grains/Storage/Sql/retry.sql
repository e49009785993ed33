-- A run failed and may run again: back to pending at the backoff time, with the retry window
-- recorded for the attempt-counter reset, and the error in the history. A later due time wakes the
-- type's scheduler; a serial queue may now have another head, of any type, so every poller looks
-- (payload ''). Times in payloads are Unix microseconds.
WITH moved AS (
    UPDATE job_executions
    SET state = 'pending', execute_at = @retry_at, attempt = @next_attempt, claim_token = NULL, claimed_by = NULL,
        alive_at = NULL, retry_failed_at = @now, retry_due_at = @retry_at
    WHERE id = @id AND claim_token = @token AND state = 'running'
    RETURNING id, job_type, queue_id
), noted AS (
    UPDATE jobs SET last_error = @error_message FROM moved WHERE jobs.id = moved.id RETURNING jobs.id
), events AS (
    INSERT INTO job_events (job_id, event_type, attempt, scheduled_at, error_message, error_type, recorded_at)
    SELECT moved.id, e.event_type, e.attempt, e.scheduled_at, e.error_message, e.error_type, @now
    FROM moved CROSS JOIN (VALUES
        (1, 'attempt_counter_reset', NULL::int, NULL::timestamptz, NULL::text, NULL::varchar),
        (2, 'execution_errored', @failed_attempt, NULL, @error_message, @error_type),
        (3, 'execution_scheduled', @next_attempt, @retry_at, NULL, NULL))
        AS e (ord, event_type, attempt, scheduled_at, error_message, error_type)
    WHERE e.ord > 1 OR @reset
    ORDER BY e.ord
    RETURNING job_id
)
SELECT count(*), (SELECT count(*) FROM noted) + (SELECT count(*) FROM events) * 0, count(CASE WHEN queue_id IS NOT NULL THEN pg_notify('job_execution', '') END),
       count(CASE WHEN @retry_at <= @now THEN pg_notify('job_execution', job_type || ' ' || (extract(epoch FROM @retry_at::timestamptz) * 1000000)::bigint) END),
       count(CASE WHEN @retry_at > @now THEN pg_notify('job_scheduled', job_type || ' ' || (extract(epoch FROM @retry_at::timestamptz) * 1000000)::bigint) END)
FROM moved
