-- The operations cockpit (JobAdmin, the dashboard, the CLI): indexes that keep every list and count
-- an index range on big tables, who did what (job_events.actor, job_admin_actions), and the admin
-- operations as functions, one round trip and one transaction each.

-- Lists of finished jobs by state (and type), newest first, with keyset paging; counts of a
-- finished state by an index range. Written once per job, when it finishes.
CREATE INDEX jobs_finished_by_state ON jobs (terminal_state, finished_at, id) WHERE terminal_state IS NOT NULL;
CREATE INDEX jobs_finished_by_type ON jobs (job_type, terminal_state, finished_at, id) WHERE terminal_state IS NOT NULL;
-- Lists of one type's jobs in every state, by id (JobId.New() ids are time-ordered). Every index on
-- jobs costs each spawn and each completion (a completion's update is never HOT), so the list of
-- every job uses the primary key, and nothing here indexes created_at.
CREATE INDEX jobs_type_id ON jobs (job_type, id);
-- Lists of one serial queue's jobs (only queued jobs pay for it).
CREATE INDEX jobs_queue_id ON jobs (queue_id, id) WHERE queue_id IS NOT NULL;

-- Who caused an event, when someone did (an operator's retry or cancel); null for the runtime's own.
ALTER TABLE job_events ADD COLUMN actor text;

-- Every admin operation, also those whose job is gone afterwards (a delete takes the job's history
-- with it): what, on which job or filter, how many jobs it changed, by whom, when.
CREATE TABLE job_admin_actions (
    seq         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    action      varchar(32) NOT NULL,
    job_id      uuid,
    job_type    varchar(128),
    detail      text,
    changed     integer NOT NULL,
    actor       text,
    recorded_at timestamptz NOT NULL
);

-- The outcome of an admin operation per job: 0 no such job, 1 done, 2 a running job was asked to
-- stop, 3 refused because of the job's state (state says which: scheduled, pending, parked, running,
-- completed, errored, cancelled).
CREATE FUNCTION job_state_of(p_id uuid) RETURNS varchar
LANGUAGE sql STABLE SET search_path FROM CURRENT AS $$
    SELECT coalesce(j.terminal_state, je.state)
    FROM jobs j LEFT JOIN job_executions je ON je.id = j.id
    WHERE j.id = p_id
$$;

-- Retry now. A job that ended errored or cancelled runs again from attempt 1 (a fresh retry budget:
-- the operator's retry starts a new series of attempts), due now; a job that waits (scheduled,
-- pending, or parked in a serial queue) becomes due now and keeps its attempt number (the attempt
-- it was waiting to run runs now). Running and completed jobs are refused (3). History per job:
-- 'retried' (actor, reason) and 'execution_scheduled'. Serial queues are locked in name order
-- before any row, as job_cancel and job_queue_rebalance do.
CREATE FUNCTION job_admin_retry(p_ids uuid[], p_reason text, p_actor text, p_now timestamptz)
RETURNS TABLE (id uuid, outcome integer, state varchar)
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
#variable_conflict use_column
DECLARE
    v_queues varchar[];
    v_done uuid[];
    v_waiting uuid[];
    v_types varchar[];
BEGIN
    v_queues := ARRAY(SELECT DISTINCT j.queue_id FROM jobs j WHERE j.id = ANY (p_ids) AND j.queue_id IS NOT NULL ORDER BY 1);
    PERFORM pg_advisory_xact_lock(hashtextextended('job-queue:' || q, 0)) FROM unnest(v_queues) WITH ORDINALITY AS u (q, n) ORDER BY n;

    -- Finished without success: back to the queue, attempt 1.
    WITH target AS (
        SELECT j.id FROM jobs j
        WHERE j.id = ANY (p_ids) AND j.terminal_state IN ('errored', 'cancelled')
        ORDER BY j.id
        FOR UPDATE
    ), reopened AS (
        UPDATE jobs j SET terminal_state = NULL, finished_at = NULL
        FROM target WHERE j.id = target.id
        RETURNING j.id, j.job_type, j.queue_id
    ), inserted AS (
        INSERT INTO job_executions (id, job_type, queue_id, state, attempt, execute_at, created_at)
        SELECT r.id, r.job_type, r.queue_id, CASE WHEN r.queue_id IS NULL THEN 'pending' ELSE 'parked' END, 1, p_now, p_now
        FROM reopened r
        RETURNING job_executions.id, job_executions.job_type, job_executions.state
    ), events AS (
        INSERT INTO job_events (job_id, event_type, attempt, scheduled_at, reason, actor, recorded_at)
        SELECT i.id, e.event_type, 1, e.scheduled_at, e.reason, p_actor, p_now
        FROM inserted i CROSS JOIN (VALUES (1, 'retried', NULL::timestamptz, p_reason), (2, 'execution_scheduled', p_now, NULL::text))
            AS e (ord, event_type, scheduled_at, reason)
        ORDER BY i.id, e.ord
        RETURNING job_id
    )
    SELECT array_agg(i.id), array_agg(DISTINCT i.job_type) FILTER (WHERE i.state = 'pending')
    INTO v_done, v_types
    FROM inserted i;

    -- Waiting: due now, same attempt.
    WITH target AS (
        SELECT je.id FROM job_executions je
        WHERE je.id = ANY (p_ids) AND je.state IN ('scheduled', 'pending', 'parked')
          AND NOT (je.id = ANY (coalesce(v_done, '{}')))
        ORDER BY je.id
        FOR UPDATE
    ), moved AS (
        UPDATE job_executions je
        SET execute_at = p_now, state = CASE WHEN je.state = 'scheduled' THEN 'pending' ELSE je.state END
        FROM target WHERE je.id = target.id
        RETURNING je.id, je.job_type, je.state, je.attempt
    ), events AS (
        INSERT INTO job_events (job_id, event_type, attempt, scheduled_at, reason, actor, recorded_at)
        SELECT m.id, e.event_type, m.attempt, e.scheduled_at, e.reason, p_actor, p_now
        FROM moved m CROSS JOIN (VALUES (1, 'retried', NULL::timestamptz, p_reason), (2, 'execution_scheduled', p_now, NULL::text))
            AS e (ord, event_type, scheduled_at, reason)
        ORDER BY m.id, e.ord
        RETURNING job_id
    )
    SELECT array_agg(m.id), coalesce(v_types, '{}') || coalesce(array_agg(DISTINCT m.job_type) FILTER (WHERE m.state = 'pending'), '{}')
    INTO v_waiting, v_types
    FROM moved m;

    IF cardinality(v_queues) > 0 THEN
        PERFORM job_queue_rebalance(v_queues, p_now);
    END IF;

    PERFORM pg_notify('job_ready', t) FROM (SELECT DISTINCT t FROM unnest(v_types) AS t) AS d;

    RETURN QUERY
    SELECT i.id,
           CASE WHEN i.id = ANY (coalesce(v_done, '{}') || coalesce(v_waiting, '{}')) THEN 1
                WHEN s.state IS NULL THEN 0 ELSE 3 END,
           s.state
    FROM (SELECT DISTINCT u AS id FROM unnest(p_ids) AS u) AS i
    LEFT JOIN LATERAL (SELECT job_state_of(i.id) AS state) AS s ON true;
END $$;

-- Cancel through job_cancel (migration 0006), one job at a time in id order, each event it writes
-- marked with the actor: a waiting job ends cancelled (1), a running one is asked to stop (2), a
-- finished one is refused (3). While job_cancel holds the job's live row (or has deleted it) no other
-- writer adds events to the job, so the events after v_seq are the cancel's own.
CREATE FUNCTION job_admin_cancel(p_ids uuid[], p_reason text, p_actor text, p_now timestamptz)
RETURNS TABLE (id uuid, outcome integer, state varchar)
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
#variable_conflict use_column
DECLARE
    v_id uuid;
    v_seq bigint;
    v_result integer;
BEGIN
    FOR v_id IN SELECT DISTINCT u FROM unnest(p_ids) AS u ORDER BY 1 LOOP
        v_seq := coalesce((SELECT max(e.seq) FROM job_events e WHERE e.job_id = v_id), 0);
        v_result := job_cancel(v_id, p_reason, p_now);
        IF v_result > 0 THEN
            UPDATE job_events e SET actor = p_actor
            WHERE e.job_id = v_id AND e.seq > v_seq AND e.event_type IN ('cancel_requested', 'job_cancelled');
            id := v_id; outcome := v_result; state := job_state_of(v_id);
        ELSE
            id := v_id; state := job_state_of(v_id); outcome := CASE WHEN state IS NULL THEN 0 ELSE 3 END;
        END IF;
        RETURN NEXT;
    END LOOP;
END $$;

-- Deletes finished jobs with their history (job_events, ON DELETE CASCADE); a live job is refused (3).
CREATE FUNCTION job_admin_delete(p_ids uuid[])
RETURNS TABLE (id uuid, outcome integer, state varchar)
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
#variable_conflict use_column
DECLARE
    v_deleted uuid[];
BEGIN
    WITH doomed AS (
        SELECT j.id FROM jobs j
        WHERE j.id = ANY (p_ids) AND j.terminal_state IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM job_executions je WHERE je.id = j.id)
        ORDER BY j.id
        FOR UPDATE
    ), gone AS (
        DELETE FROM jobs j USING doomed WHERE j.id = doomed.id RETURNING j.id
    )
    SELECT array_agg(gone.id) INTO v_deleted FROM gone;

    RETURN QUERY
    SELECT i.id,
           CASE WHEN i.id = ANY (coalesce(v_deleted, '{}')) THEN 1 WHEN s.state IS NULL THEN 0 ELSE 3 END,
           CASE WHEN i.id = ANY (coalesce(v_deleted, '{}')) THEN NULL ELSE s.state END
    FROM (SELECT DISTINCT u AS id FROM unnest(p_ids) AS u) AS i
    LEFT JOIN LATERAL (SELECT job_state_of(i.id) AS state) AS s ON true;
END $$;
