-- The last allowed attempt failed: the job ends errored, distinguishable from completed.
WITH done AS (
    DELETE FROM job_executions
    WHERE id = @id AND claim_token = @token AND state = 'running'
    RETURNING id, job_type, queue_id
), finished AS (
    UPDATE jobs SET terminal_state = 'errored', finished_at = @now, last_error = @error_message
    FROM done WHERE jobs.id = done.id
    RETURNING jobs.id, jobs.awaited
), events AS (
    INSERT INTO job_events (job_id, event_type, attempt, error_message, error_type, recorded_at)
    SELECT done.id, e.event_type, e.attempt, e.error_message, e.error_type, @now
    FROM done CROSS JOIN (VALUES
        (1, 'attempt_counter_reset', NULL::int, NULL::text, NULL::varchar),
        (2, 'execution_errored', @failed_attempt, @error_message, @error_type),
        (3, 'job_errored', @failed_attempt, NULL, NULL))
        AS e (ord, event_type, attempt, error_message, error_type)
    WHERE e.ord > 1 OR @reset
    ORDER BY e.ord
    RETURNING job_id
)
SELECT count(*), (SELECT count(*) FROM events) * 0,
       (SELECT count(pg_notify('job_terminal', finished.id::text)) FROM finished WHERE finished.awaited),
       count(CASE WHEN queue_id IS NOT NULL THEN pg_notify('job_execution', '') END) -- the queue's next head may be of any type
FROM done
