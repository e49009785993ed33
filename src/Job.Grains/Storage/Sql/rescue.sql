-- Puts running jobs back to pending when their runner is gone: either their silo was declared
-- dead by Orleans membership (@silo set), or their heartbeat is older than @lost_after on
-- database time (@silo null). The attempt is counted; the history says why.
WITH moved AS (
    UPDATE job_executions
    SET state = 'pending', execute_at = @now, attempt = attempt + 1, claim_token = NULL, claimed_by = NULL, alive_at = NULL
    WHERE state = 'running'
      AND (@job_types::varchar[] IS NULL OR job_type = ANY(@job_types))
      AND ((@silo::varchar IS NOT NULL AND claimed_by = @silo)
        OR (@silo::varchar IS NULL AND alive_at < now() - @lost_after::interval))
    RETURNING id, job_type, attempt, claimed_by
), events AS (
    INSERT INTO job_events (job_id, event_type, attempt, scheduled_at, reason, recorded_at)
    SELECT moved.id, e.event_type, moved.attempt, e.scheduled_at, r.reason, @now
    FROM moved CROSS JOIN (VALUES (1, @event_type::varchar, NULL::timestamptz), (2, 'execution_scheduled', @now))
        AS e (ord, event_type, scheduled_at)
    CROSS JOIN LATERAL (SELECT CASE WHEN e.ord = 1 THEN @reason::text END AS reason) AS r
    ORDER BY moved.id, e.ord
    RETURNING job_id
)
SELECT moved.id, moved.job_type, (SELECT count(*) FROM events) * 0, pg_notify('job_execution', moved.job_type || ' ' || (extract(epoch FROM @now::timestamptz) * 1000000)::bigint) FROM moved
