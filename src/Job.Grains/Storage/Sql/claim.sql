-- Claims due jobs of the given types for one silo. SKIP LOCKED lets concurrent pollers fall
-- through to later due rows instead of waiting. Serial queues contribute only their head, and
-- only when nothing of that queue runs; a unique index backs that rule. Every claim gets a
-- fresh fencing token, and the heartbeat (alive_at) is on database time, never the app clock.
WITH RECURSIVE queues AS (
    -- The distinct queues with pending jobs, one index probe each (a skip scan), so a claim does
    -- not read a queue's whole backlog to find its head.
    (SELECT queue_id FROM job_executions
     WHERE state = 'pending' AND queue_id IS NOT NULL
     ORDER BY queue_id LIMIT 1)
    UNION ALL
    SELECT (SELECT je.queue_id FROM job_executions je
            WHERE je.state = 'pending' AND je.queue_id IS NOT NULL AND je.queue_id > queues.queue_id
            ORDER BY je.queue_id LIMIT 1)
    FROM queues
    WHERE queues.queue_id IS NOT NULL
), queue_heads AS (
    SELECT je.id
    FROM queues
    CROSS JOIN LATERAL (
        SELECT h.id, h.job_type, h.execute_at
        FROM job_executions h
        WHERE h.state = 'pending' AND h.queue_id = queues.queue_id
        ORDER BY h.execute_at, h.id
        LIMIT 1
    ) AS head
    JOIN job_executions je ON je.id = head.id
    WHERE head.job_type = ANY(@types)
      AND head.execute_at <= @now
      AND je.state = 'pending'
      AND NOT EXISTS (SELECT 1 FROM job_executions r WHERE r.state = 'running' AND r.queue_id = queues.queue_id)
    ORDER BY je.execute_at, je.id
    LIMIT @limit
    FOR UPDATE OF je SKIP LOCKED
), room AS (
    -- What is left of the batch after the queue heads.
    SELECT GREATEST(@limit - count(*), 0) AS n FROM queue_heads
), plain AS (
    -- One ordered index scan per type, so a claim reads about @limit index entries however many
    -- jobs are due or scheduled (an "= ANY(@types)" scan cannot return rows in due order and
    -- would read and sort every due row). Rows locked here beyond the outer LIMIT are released
    -- when this statement commits; that happens only when a full batch is claimed, and a full
    -- batch makes the poller claim again at once.
    SELECT d.id
    FROM unnest(@types::varchar[]) AS t (job_type)
    CROSS JOIN LATERAL (
        SELECT je.id, je.execute_at
        FROM job_executions je
        WHERE je.state = 'pending' AND je.queue_id IS NULL AND je.job_type = t.job_type AND je.execute_at <= @now
        ORDER BY je.execute_at, je.id
        LIMIT (SELECT n FROM room)
        FOR UPDATE SKIP LOCKED
    ) AS d
    ORDER BY d.execute_at, d.id
    LIMIT (SELECT n FROM room)
), claimed AS (
    UPDATE job_executions je
    SET state = 'running', claim_token = nextval('job_claim_tokens'), claimed_by = @silo, alive_at = now()
    -- An array of ids makes this primary-key lookups whatever the planner guesses about the CTEs.
    WHERE je.id = ANY (ARRAY(SELECT id FROM queue_heads UNION ALL SELECT id FROM plain))
    RETURNING je.id, je.job_type, je.queue_id, je.attempt, je.claim_token, je.execution_state,
              je.retry_failed_at, je.retry_due_at, je.execute_at
)
SELECT c.id, c.job_type, c.queue_id, c.attempt, c.claim_token, c.execution_state,
       c.retry_failed_at, c.retry_due_at, c.execute_at, j.config, j.trace_parent, j.created_at
FROM claimed c JOIN jobs j ON j.id = c.id
ORDER BY c.execute_at, c.id
