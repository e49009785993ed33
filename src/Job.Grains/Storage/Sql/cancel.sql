-- Cancels a pending job. A running job is left to finish (its runner holds the claim).
WITH done AS (
    DELETE FROM job_executions WHERE id = @id AND state = 'pending'
    RETURNING id, job_type, queue_id
), finished AS (
    UPDATE jobs SET terminal_state = 'cancelled', finished_at = @now FROM done WHERE jobs.id = done.id RETURNING jobs.id, jobs.awaited
), events AS (
    INSERT INTO job_events (job_id, event_type, recorded_at)
    SELECT done.id, 'job_cancelled', @now FROM done
    RETURNING job_id
)
SELECT count(*), (SELECT count(*) FROM events) * 0,
       (SELECT count(pg_notify('job_terminal', finished.id::text)) FROM finished WHERE finished.awaited),
       count(CASE WHEN queue_id IS NOT NULL THEN pg_notify('job_execution', '') END) -- the queue's next head may be of any type
FROM done
