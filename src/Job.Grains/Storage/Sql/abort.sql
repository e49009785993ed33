-- Hands claimed jobs back without counting an attempt (shutdown, or a silo that cannot run the
-- type): pending and due now, so another silo takes them at once.
WITH input AS (
    SELECT * FROM unnest(@ids::uuid[], @tokens::bigint[]) AS t (id, token)
), moved AS (
    UPDATE job_executions je
    SET state = 'pending', execute_at = @now, claim_token = NULL, claimed_by = NULL, alive_at = NULL
    FROM input
    WHERE je.id = input.id AND je.claim_token = input.token AND je.state = 'running'
    RETURNING je.id, je.job_type, je.attempt
), events AS (
    INSERT INTO job_events (job_id, event_type, attempt, scheduled_at, reason, recorded_at)
    SELECT moved.id, e.event_type, moved.attempt, e.scheduled_at, e.reason, @now
    FROM moved CROSS JOIN (VALUES (1, 'execution_aborted', NULL::timestamptz, @reason::text), (2, 'execution_scheduled', @now, NULL))
        AS e (ord, event_type, scheduled_at, reason)
    ORDER BY moved.id, e.ord
    RETURNING job_id
)
SELECT moved.id, (SELECT count(*) FROM events) * 0, pg_notify('job_execution', moved.job_type || ' ' || (extract(epoch FROM @now::timestamptz) * 1000000)::bigint) FROM moved
