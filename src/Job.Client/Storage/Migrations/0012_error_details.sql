-- A failure's details beside its message: the exception as .NET prints it (type, message, stack trace,
-- inner exceptions), for the job's page and the CLI's --json. Only failed runs write one.
ALTER TABLE job_events ADD COLUMN error_detail text;

-- job_finish of 0009 with one more array, the details of each outcome (null but for failures), written
-- into the failure's execution_errored event. The ten-array job_finish stays: silos of the previous
-- release, still running during a rolling deploy, call it (their failures keep no details).
CREATE FUNCTION job_finish(p_ids uuid[], p_tokens bigint[], p_kinds smallint[], p_attempts integer[],
                           p_next_attempts integer[], p_at timestamptz[], p_resets boolean[], p_messages text[],
                           p_error_types varchar[], p_error_details text[], p_now timestamptz)
RETURNS TABLE (id uuid, claim_token bigint)
LANGUAGE plpgsql SET search_path FROM CURRENT SET plan_cache_mode = force_generic_plan AS $$
#variable_conflict use_column
DECLARE
    v_ended_ids uuid[];
    v_ended_tokens bigint[];
    v_moved_ids uuid[];
    v_moved_tokens bigint[];
    v_queues varchar[];
    v_ready varchar[];
    v_more_queues varchar[];
    v_more_ready varchar[];
    v_later timestamptz;
    v_notified bigint;
BEGIN
    -- Each outcome is matched to its live row by the row's own claim token: a token belongs to one claim
    -- of one job, so its position in p_tokens names the outcome (and p_ids at that position must be the
    -- row's id). The rows are found by primary key; no join against the input, whatever the batch size.
    IF 1 = ANY (p_kinds) OR 4 = ANY (p_kinds) OR 6 = ANY (p_kinds) THEN
        -- Terminal outcomes: the live row goes, the job row keeps how it ended.
        WITH done AS (
            DELETE FROM job_executions je
            WHERE je.id = ANY (p_ids)
              AND p_ids[array_position(p_tokens, je.claim_token)] = je.id
              AND p_kinds[array_position(p_tokens, je.claim_token)] IN (1, 4, 6)
            RETURNING je.id, je.claim_token, je.job_type, je.queue_id, array_position(p_tokens, je.claim_token) AS pos
        ), finished AS (
            UPDATE jobs j
            SET terminal_state = CASE p_kinds[done.pos] WHEN 1 THEN 'completed' WHEN 4 THEN 'errored' ELSE 'cancelled' END,
                finished_at = p_now,
                last_error = CASE WHEN p_kinds[done.pos] = 4 THEN p_messages[done.pos] ELSE j.last_error END
            FROM done WHERE j.id = done.id
            RETURNING j.id, j.awaited
        ), events AS (
            INSERT INTO job_events (job_id, event_type, attempt, error_message, error_type, error_detail, reason, recorded_at)
            SELECT d.id, e.event_type, e.attempt, e.message, e.error_type, e.detail, e.reason, p_now
            FROM (SELECT done.id, p_kinds[done.pos] AS kind, p_attempts[done.pos] AS attempt, p_resets[done.pos] AS reset,
                         p_messages[done.pos] AS message, p_error_types[done.pos] AS error_type,
                         p_error_details[done.pos] AS detail FROM done) AS d
            CROSS JOIN LATERAL (VALUES
                (1, CASE WHEN d.kind = 4 AND d.reset THEN 'attempt_counter_reset' END, NULL::integer, NULL::text, NULL::varchar, NULL::text, NULL::text),
                (2, CASE d.kind WHEN 1 THEN 'execution_completed' WHEN 4 THEN 'execution_errored' ELSE 'execution_aborted' END,
                    d.attempt, CASE WHEN d.kind = 4 THEN d.message END, CASE WHEN d.kind = 4 THEN d.error_type END,
                    CASE WHEN d.kind = 4 THEN d.detail END, CASE WHEN d.kind = 6 THEN 'cancelled' END),
                (3, CASE d.kind WHEN 1 THEN 'job_completed' WHEN 4 THEN 'job_errored' ELSE 'job_cancelled' END,
                    CASE WHEN d.kind = 4 THEN d.attempt END, NULL, NULL, NULL, NULL)) AS e (ord, event_type, attempt, message, error_type, detail, reason)
            WHERE e.event_type IS NOT NULL
            ORDER BY d.id, e.ord
            RETURNING job_id
        )
        SELECT array_agg(done.id), array_agg(done.claim_token),
               array_agg(DISTINCT done.queue_id) FILTER (WHERE done.queue_id IS NOT NULL),
               array_agg(DISTINCT done.job_type) FILTER (WHERE jt.max_running IS NOT NULL),
               (SELECT count(pg_notify('job_terminal', f.id::text)) FROM finished f WHERE f.awaited)
        INTO v_ended_ids, v_ended_tokens, v_queues, v_ready, v_notified
        FROM done LEFT JOIN job_types jt ON jt.job_type = done.job_type;
    END IF;

    IF 2 = ANY (p_kinds) OR 3 = ANY (p_kinds) OR 5 = ANY (p_kinds) THEN
        -- Runs again: rescheduled, retried after a failure, or handed back.
        WITH matched AS (
            SELECT je.id, array_position(p_tokens, je.claim_token) AS pos
            FROM job_executions je
            WHERE je.id = ANY (p_ids)
              AND p_ids[array_position(p_tokens, je.claim_token)] = je.id
              AND p_kinds[array_position(p_tokens, je.claim_token)] IN (2, 3, 5)
            FOR UPDATE
        ), input AS (
            SELECT m.id, m.pos, p_tokens[m.pos] AS token, p_kinds[m.pos] AS kind, p_attempts[m.pos] AS attempt,
                   p_next_attempts[m.pos] AS next_attempt, p_at[m.pos] AS at, p_resets[m.pos] AS reset,
                   p_messages[m.pos] AS message, p_error_types[m.pos] AS error_type, p_error_details[m.pos] AS detail
            FROM matched m
        ), moved AS (
            UPDATE job_executions je
            SET state = CASE WHEN (CASE WHEN input.kind = 5 THEN je.execute_at ELSE input.at END) <= p_now THEN 'pending' ELSE 'scheduled' END,
                execute_at = CASE WHEN input.kind = 5 THEN je.execute_at ELSE input.at END,
                attempt = CASE input.kind WHEN 2 THEN 1 WHEN 3 THEN input.next_attempt ELSE je.attempt END,
                retry_failed_at = CASE input.kind WHEN 2 THEN NULL WHEN 3 THEN p_now ELSE je.retry_failed_at END,
                retry_due_at = CASE input.kind WHEN 2 THEN NULL WHEN 3 THEN input.at ELSE je.retry_due_at END,
                claim_token = NULL, claimed_by = NULL, alive_at = NULL, started_at = NULL, cancel_requested_at = NULL
            FROM input
            WHERE je.id = input.id
            RETURNING je.id, input.token, je.job_type, je.queue_id, je.state, je.execute_at, je.attempt AS new_attempt,
                      input.kind, input.attempt, input.reset, input.message, input.error_type, input.detail
        ), noted AS (
            UPDATE jobs j SET last_error = moved.message FROM moved WHERE j.id = moved.id AND moved.kind = 3 RETURNING j.id
        ), events AS (
            INSERT INTO job_events (job_id, event_type, attempt, scheduled_at, error_message, error_type, error_detail, reason, recorded_at)
            SELECT moved.id, e.event_type, e.attempt, e.scheduled_at, e.message, e.error_type, e.detail, e.reason, p_now
            FROM moved CROSS JOIN LATERAL (VALUES
                (1, CASE WHEN moved.kind = 3 AND moved.reset THEN 'attempt_counter_reset' END, NULL::integer, NULL::timestamptz, NULL::text, NULL::varchar, NULL::text, NULL::text),
                (2, CASE moved.kind WHEN 2 THEN 'execution_completed' WHEN 3 THEN 'execution_errored' ELSE 'execution_aborted' END,
                    moved.attempt, NULL, CASE WHEN moved.kind = 3 THEN moved.message END, CASE WHEN moved.kind = 3 THEN moved.error_type END,
                    CASE WHEN moved.kind = 3 THEN moved.detail END, CASE WHEN moved.kind = 5 THEN moved.message END),
                (3, 'execution_scheduled', moved.new_attempt, moved.execute_at, NULL, NULL, NULL, NULL)) AS e (ord, event_type, attempt, scheduled_at, message, error_type, detail, reason)
            WHERE e.event_type IS NOT NULL
            ORDER BY moved.id, e.ord
            RETURNING job_id
        )
        SELECT array_agg(moved.id), array_agg(moved.token),
               array_agg(DISTINCT moved.queue_id) FILTER (WHERE moved.queue_id IS NOT NULL),
               array_agg(DISTINCT moved.job_type) FILTER (WHERE moved.state = 'pending' OR jt.max_running IS NOT NULL),
               min(moved.execute_at) FILTER (WHERE moved.state = 'scheduled')
        INTO v_moved_ids, v_moved_tokens, v_more_queues, v_more_ready, v_later
        FROM moved LEFT JOIN job_types jt ON jt.job_type = moved.job_type;
    END IF;

    v_queues := coalesce(v_queues, '{}') || coalesce(v_more_queues, '{}');
    IF cardinality(v_queues) > 0 THEN
        PERFORM job_queue_rebalance(v_queues, p_now);
    END IF;

    IF v_ready IS NOT NULL OR v_more_ready IS NOT NULL THEN
        PERFORM pg_notify('job_ready', r) FROM (SELECT DISTINCT r FROM unnest(coalesce(v_ready, '{}') || coalesce(v_more_ready, '{}')) AS r) AS d;
    END IF;

    IF v_later IS NOT NULL THEN
        PERFORM pg_notify('job_scheduled', job_micros(v_later));
    END IF;

    RETURN QUERY
    SELECT a.id, a.token FROM unnest(coalesce(v_ended_ids, '{}') || coalesce(v_moved_ids, '{}'),
                                     coalesce(v_ended_tokens, '{}') || coalesce(v_moved_tokens, '{}')) AS a (id, token);
END $$;

ALTER FUNCTION job_finish(uuid[], bigint[], smallint[], integer[], integer[], timestamptz[], boolean[], text[], varchar[], text[], timestamptz)
    SET enable_seqscan = off;
