-- Spawns a batch of jobs of one type in one statement: the job rows, their queue rows and the
-- first history events. NOTIFY is delivered on commit only: jobs due now wake the pollers
-- (job_execution, with the latest of their due times), jobs due later the type's scheduler
-- (job_scheduled, with the earliest). Times in payloads are Unix microseconds.
WITH input AS (
    SELECT * FROM unnest(@ids::uuid[], @configs::jsonb[], @execute_ats::timestamptz[], @queue_ids::varchar[])
        AS t (id, config, execute_at, queue_id)
), inserted_jobs AS (
    INSERT INTO jobs (id, job_type, unique_per_type, queue_id, config, trace_parent, created_at)
    SELECT id, @job_type, @unique, queue_id, config, @trace_parent, @now FROM input
    RETURNING id
), inserted_executions AS (
    INSERT INTO job_executions (id, job_type, queue_id, execute_at, created_at)
    SELECT id, @job_type, queue_id, execute_at, @now FROM input
    RETURNING id
), inserted_events AS (
    INSERT INTO job_events (job_id, event_type, attempt, scheduled_at, recorded_at)
    SELECT input.id, e.event_type, e.attempt, CASE WHEN e.attempt IS NULL THEN NULL ELSE input.execute_at END, @now
    FROM input CROSS JOIN (VALUES (1, 'initialized', NULL::int), (2, 'execution_scheduled', 1)) AS e (ord, event_type, attempt)
    ORDER BY e.ord
    RETURNING job_id
), due AS (
    SELECT max(execute_at) FILTER (WHERE execute_at <= @now) AS now_up_to,
           min(execute_at) FILTER (WHERE execute_at > @now) AS later
    FROM input
)
SELECT (SELECT count(*) FROM inserted_jobs)
     + (SELECT count(*) FROM inserted_executions) * 0
     + (SELECT count(*) FROM inserted_events) * 0,
       CASE WHEN due.now_up_to IS NOT NULL
            THEN pg_notify('job_execution', @job_type || ' ' || (extract(epoch FROM due.now_up_to) * 1000000)::bigint) END,
       CASE WHEN due.later IS NOT NULL
            THEN pg_notify('job_scheduled', @job_type || ' ' || (extract(epoch FROM due.later) * 1000000)::bigint) END
FROM due
