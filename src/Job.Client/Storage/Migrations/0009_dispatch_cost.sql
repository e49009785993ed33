-- The dispatch path's cost per job, and what its limits tell the dispatcher.
--
-- What a job's writes cost in index and trigger work, trimmed to what a query reads:
-- * The history (job_events) is written only by Job's functions, in the transaction that writes the
--   job row, and read by job id: its foreign key to jobs checked every event (five per job: a row lock
--   and an index probe each, a sixth of the database's work per job), so it goes. Pruning and the
--   admin delete remove a job's history with it.
-- * Running jobs by silo and heartbeat (0001) made every claim insert one more index entry and every
--   heartbeat a non-HOT update; the rescues that read it scan the running jobs, which
--   job_executions_type_running (0005) lists just as well.
-- job_finish finds each outcome's row by primary key and claim token (no join against the input), and
-- job_claim updates the rows it locked by address; both run generic plans. job_claim reports a type
-- whose limit cut its claim short as blocked, with when to ask again.
ALTER TABLE job_events DROP CONSTRAINT job_events_job_id_fkey;
DROP INDEX job_executions_running;

-- When a limited type's claim may be asked again, in milliseconds: NULL when the concurrency limit
-- binds (a run of the type ending anywhere sends job_ready), else when the rate's next token is due
-- (at least 10 ms: a fast rate is claimed in batches, not a token per round trip).
CREATE FUNCTION job_claim_hint(p_rate_binds integer, p_tokens double precision, p_settings job_types)
RETURNS integer
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p_rate_binds IS NULL OR p_settings.rate_limit IS NULL THEN NULL
                ELSE greatest(10, ceil(greatest(0, 1 - p_tokens) * extract(epoch FROM p_settings.rate_period) * 1000
                                      / p_settings.rate_limit))::integer END
$$;

-- Claims pending jobs of the given types for one silo, in one transaction. Per type: a paused type
-- is skipped; a type with a cluster-wide concurrency or rate limit is claimed by one silo at a time
-- (its job_types row locked, SKIP LOCKED: a busy one is reported blocked, not waited for) and gets
-- no more than its limits leave; p_oldest[i] of the type's slots go to its longest-waiting jobs,
-- the rest by priority, then due time. p_quotas give each type its fair share of p_limit; what a
-- type leaves unused goes, in a second pass, to the types that filled theirs. A silo that Orleans
-- membership does not list as active (declared dead while it did not know) claims nothing.
-- Rows with blocked = true name a type whose limits kept due jobs waiting (only job_type is set), with
-- in attempt the milliseconds after which to ask again (NULL: when a run of the type ends, job_ready).
-- Cost: a few index probes per type asked (the caller asks only types known to have pending jobs),
-- and per claimed row its lock, its update and its read; never a row of an idle type or queue.
-- Generic plans (plan_cache_mode): planning each statement anew on every call cost more than running
-- it, and every statement here is written so that its only sensible plan is the index it names.
CREATE OR REPLACE FUNCTION job_claim(p_types varchar[], p_quotas integer[], p_oldest integer[], p_limit integer,
                          p_silo varchar, p_cluster varchar, p_address varchar, p_port integer, p_generation integer,
                          p_now timestamptz)
RETURNS TABLE (id uuid, job_type varchar, queue_id varchar, attempt integer, claim_token bigint,
               execution_state jsonb, retry_failed_at timestamptz, retry_due_at timestamptz, execute_at timestamptz,
               started_at timestamptz, config jsonb, trace_parent varchar, created_at timestamptz, blocked boolean)
LANGUAGE plpgsql SET search_path FROM CURRENT SET plan_cache_mode = force_generic_plan AS $$
#variable_conflict use_column
DECLARE
    v_claimed tid[] := '{}';
    v_taken integer := 0;
    v_full varchar[] := '{}';
    v_blocked varchar[] := '{}';
    v_hints integer[] := '{}';
    v_clock timestamptz;
    v_req integer;
    v_hint integer;
    v_pass integer;
    v_i integer;
    v_type varchar;
    v_want integer;
    v_oldest integer;
    v_got uuid[];
    v_rows tid[];
    v_more uuid[];
    v_more_rows tid[];
    v_lowest smallint;
    v_limited boolean;
    v_settings job_types%ROWTYPE;
    v_running integer;
    v_tokens double precision;
BEGIN
    IF p_cluster IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM orleans_membership m
        WHERE m.deployment_id = p_cluster AND m.address = p_address AND m.port = p_port
          AND m.generation = p_generation AND m.status = 3) THEN
        RETURN;
    END IF;

    FOR v_pass IN 1..2 LOOP
        FOR v_i IN 1..coalesce(array_length(p_types, 1), 0) LOOP
            EXIT WHEN v_taken >= p_limit;
            v_type := p_types[v_i];
            CONTINUE WHEN v_pass = 2 AND NOT (v_type = ANY (v_full));
            v_want := CASE WHEN v_pass = 1 THEN least(p_quotas[v_i], p_limit - v_taken) ELSE p_limit - v_taken END;
            v_oldest := CASE WHEN v_pass = 1 THEN least(p_oldest[v_i], v_want) ELSE 0 END;
            v_limited := false;
            v_req := v_want;
            v_hint := NULL;

            SELECT * INTO v_settings FROM job_types t WHERE t.job_type = v_type;
            IF FOUND THEN
                CONTINUE WHEN v_settings.paused;
                IF v_settings.max_running IS NOT NULL OR v_settings.rate_limit IS NOT NULL THEN
                    SELECT * INTO v_settings FROM job_types t WHERE t.job_type = v_type FOR UPDATE SKIP LOCKED;
                    IF NOT FOUND THEN
                        -- Another silo is claiming it right now, for milliseconds: ask again as soon.
                        v_blocked := v_blocked || v_type;
                        v_hints := v_hints || 5;
                        CONTINUE;
                    END IF;

                    CONTINUE WHEN v_settings.paused;
                    v_limited := true;
                    IF v_settings.max_running IS NOT NULL THEN
                        SELECT count(*) INTO v_running FROM job_executions e WHERE e.job_type = v_type AND e.state = 'running';
                        v_want := least(v_want, v_settings.max_running - v_running);
                    END IF;

                    IF v_settings.rate_limit IS NOT NULL THEN
                        -- One reading of the clock for the refill and its record: two readings made a full
                        -- bucket lose a token whenever the second came later than the first.
                        v_clock := clock_timestamp();
                        v_tokens := least(v_settings.rate_limit::double precision,
                            coalesce(v_settings.rate_tokens, v_settings.rate_limit)
                            + extract(epoch FROM v_clock - coalesce(v_settings.rate_refilled_at, v_clock))
                              * v_settings.rate_limit / extract(epoch FROM v_settings.rate_period));
                        IF floor(v_tokens) < v_want THEN
                            v_want := greatest(floor(v_tokens)::integer, 0);
                            v_hint := 0; -- the rate binds: the hint is set once the claim took its tokens
                        END IF;
                    END IF;

                    IF v_want <= 0 THEN
                        -- Blocked only if due jobs wait (a probe at the ready index's live tail).
                        IF (SELECT e.priority FROM job_executions e
                            WHERE e.state = 'pending' AND e.job_type = v_type ORDER BY e.priority LIMIT 1) IS NOT NULL THEN
                            v_blocked := v_blocked || v_type;
                            v_hints := v_hints || job_claim_hint(v_hint, v_tokens, v_settings);
                        END IF;
                        CONTINUE;
                    END IF;

                    v_oldest := least(v_oldest, v_want);
                END IF;
            END IF;

            -- The longest-waiting first, whatever their priority: the heads of each priority. That differs
            -- from the order below only when the type's pending jobs have more than one priority, which two
            -- probes tell (the ready index's tail, and the boundary of its lowest priority), without reading
            -- the run of just-claimed entries at the index's head.
            v_got := '{}';
            v_rows := '{}';
            IF v_oldest > 0 THEN
                v_lowest := (SELECT e.priority FROM job_executions e
                             WHERE e.state = 'pending' AND e.job_type = v_type ORDER BY e.priority LIMIT 1);
                IF (SELECT e.priority FROM job_executions e
                    WHERE e.state = 'pending' AND e.job_type = v_type AND e.priority > v_lowest ORDER BY e.priority LIMIT 1) IS NOT NULL THEN
                    SELECT coalesce(array_agg(h.id ORDER BY h.execute_at, h.id), '{}'), coalesce(array_agg(h.ctid ORDER BY h.execute_at, h.id), '{}')
                    INTO v_got, v_rows
                    FROM (
                        WITH RECURSIVE priorities AS (
                            (SELECT e.priority FROM job_executions e
                             WHERE e.state = 'pending' AND e.job_type = v_type ORDER BY e.priority DESC LIMIT 1)
                            UNION ALL
                            SELECT (SELECT e.priority FROM job_executions e
                                    WHERE e.state = 'pending' AND e.job_type = v_type AND e.priority < p.priority
                                    ORDER BY e.priority DESC LIMIT 1)
                            FROM priorities p WHERE p.priority IS NOT NULL)
                        SELECT h.id, h.ctid, h.execute_at FROM priorities p
                        CROSS JOIN LATERAL (
                            SELECT e.id, e.ctid, e.execute_at FROM job_executions e
                            WHERE e.state = 'pending' AND e.job_type = v_type AND e.priority = p.priority
                            ORDER BY e.execute_at, e.id
                            LIMIT v_oldest
                            FOR UPDATE SKIP LOCKED) AS h
                        WHERE p.priority IS NOT NULL
                        ORDER BY h.execute_at, h.id
                        LIMIT v_oldest) AS h;
                END IF;
            END IF;

            SELECT coalesce(array_agg(h.id), '{}'), coalesce(array_agg(h.ctid), '{}') INTO v_more, v_more_rows
            FROM (
                SELECT e.id, e.ctid FROM job_executions e
                WHERE e.state = 'pending' AND e.job_type = v_type AND NOT (e.id = ANY (v_got))
                ORDER BY e.priority DESC, e.execute_at, e.id
                LIMIT v_want - cardinality(v_got)
                FOR UPDATE SKIP LOCKED) AS h;
            v_got := v_got || v_more;
            v_rows := v_rows || v_more_rows;

            -- The rows are locked by this transaction, so their addresses hold until it ends: no index lookup.
            IF cardinality(v_rows) > 0 THEN
                WITH claimed AS (
                    UPDATE job_executions e
                    SET state = 'running', claim_token = nextval('job_claim_tokens'), claimed_by = p_silo,
                        alive_at = now(), started_at = p_now, cancel_requested_at = NULL
                    WHERE e.ctid = ANY (v_rows)
                    RETURNING e.ctid)
                SELECT v_claimed || array_agg(c.ctid) INTO v_claimed FROM claimed c;
                v_taken := v_taken + cardinality(v_rows);
            END IF;

            IF v_limited AND v_settings.rate_limit IS NOT NULL THEN
                v_tokens := v_tokens - cardinality(v_got);
                UPDATE job_types t SET rate_tokens = v_tokens, rate_refilled_at = v_clock
                WHERE t.job_type = v_type;
            END IF;

            -- A limit cut this claim short: if due jobs remain, the type is blocked, not drained, and the
            -- dispatcher asks again when a token is due (a rate) or a run of the type ends (concurrency).
            IF v_limited AND v_want < v_req AND cardinality(v_got) = v_want
               AND (SELECT e.priority FROM job_executions e
                    WHERE e.state = 'pending' AND e.job_type = v_type ORDER BY e.priority LIMIT 1) IS NOT NULL THEN
                v_blocked := v_blocked || v_type;
                v_hints := v_hints || job_claim_hint(v_hint, v_tokens, v_settings);
            END IF;

            IF v_pass = 1 AND cardinality(v_got) = v_want THEN
                v_full := v_full || v_type;
            END IF;
        END LOOP;
    END LOOP;

    IF v_taken > 0 THEN
        RETURN QUERY
        SELECT e.id, e.job_type, e.queue_id, e.attempt, e.claim_token, e.execution_state, e.retry_failed_at,
               e.retry_due_at, e.execute_at, e.started_at, j.config, j.trace_parent, j.created_at, false
        FROM job_executions e JOIN jobs j ON j.id = e.id
        WHERE e.ctid = ANY (v_claimed)
        ORDER BY e.execute_at, e.id;
    END IF;

    IF cardinality(v_blocked) > 0 THEN
        RETURN QUERY
        SELECT NULL::uuid, b.t, NULL::varchar, b.h, NULL::bigint, NULL::jsonb, NULL::timestamptz,
               NULL::timestamptz, NULL::timestamptz, NULL::timestamptz, NULL::jsonb, NULL::varchar, NULL::timestamptz, true
        FROM unnest(v_blocked, v_hints) AS b (t, h);
    END IF;
END $$;

CREATE OR REPLACE FUNCTION job_finish(p_ids uuid[], p_tokens bigint[], p_kinds smallint[], p_attempts integer[],
                           p_next_attempts integer[], p_at timestamptz[], p_resets boolean[], p_messages text[],
                           p_error_types varchar[], p_now timestamptz)
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
            INSERT INTO job_events (job_id, event_type, attempt, error_message, error_type, reason, recorded_at)
            SELECT d.id, e.event_type, e.attempt, e.message, e.error_type, e.reason, p_now
            FROM (SELECT done.id, p_kinds[done.pos] AS kind, p_attempts[done.pos] AS attempt, p_resets[done.pos] AS reset,
                         p_messages[done.pos] AS message, p_error_types[done.pos] AS error_type FROM done) AS d
            CROSS JOIN LATERAL (VALUES
                (1, CASE WHEN d.kind = 4 AND d.reset THEN 'attempt_counter_reset' END, NULL::integer, NULL::text, NULL::varchar, NULL::text),
                (2, CASE d.kind WHEN 1 THEN 'execution_completed' WHEN 4 THEN 'execution_errored' ELSE 'execution_aborted' END,
                    d.attempt, CASE WHEN d.kind = 4 THEN d.message END, CASE WHEN d.kind = 4 THEN d.error_type END,
                    CASE WHEN d.kind = 6 THEN 'cancelled' END),
                (3, CASE d.kind WHEN 1 THEN 'job_completed' WHEN 4 THEN 'job_errored' ELSE 'job_cancelled' END,
                    CASE WHEN d.kind = 4 THEN d.attempt END, NULL, NULL, NULL)) AS e (ord, event_type, attempt, message, error_type, reason)
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
                   p_messages[m.pos] AS message, p_error_types[m.pos] AS error_type
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
                      input.kind, input.attempt, input.reset, input.message, input.error_type
        ), noted AS (
            UPDATE jobs j SET last_error = moved.message FROM moved WHERE j.id = moved.id AND moved.kind = 3 RETURNING j.id
        ), events AS (
            INSERT INTO job_events (job_id, event_type, attempt, scheduled_at, error_message, error_type, reason, recorded_at)
            SELECT moved.id, e.event_type, e.attempt, e.scheduled_at, e.message, e.error_type, e.reason, p_now
            FROM moved CROSS JOIN LATERAL (VALUES
                (1, CASE WHEN moved.kind = 3 AND moved.reset THEN 'attempt_counter_reset' END, NULL::integer, NULL::timestamptz, NULL::text, NULL::varchar, NULL::text),
                (2, CASE moved.kind WHEN 2 THEN 'execution_completed' WHEN 3 THEN 'execution_errored' ELSE 'execution_aborted' END,
                    moved.attempt, NULL, CASE WHEN moved.kind = 3 THEN moved.message END, CASE WHEN moved.kind = 3 THEN moved.error_type END,
                    CASE WHEN moved.kind = 5 THEN moved.message END),
                (3, 'execution_scheduled', moved.new_attempt, moved.execute_at, NULL, NULL, NULL)) AS e (ord, event_type, attempt, scheduled_at, message, error_type, reason)
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

-- Deletes finished jobs with their history (the history has no foreign key since this migration, so
-- the events go by job id); a live job is refused (3).
CREATE OR REPLACE FUNCTION job_admin_delete(p_ids uuid[])
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
    ), history AS (
        DELETE FROM job_events e USING doomed WHERE e.job_id = doomed.id
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

-- A completion's update of a job row is never HOT (finished_at is indexed), so it writes an entry into
-- every index on jobs: each index there costs every job. jobs_finished (0003: type and finish time)
-- and jobs_finished_at (0005: finish time) are covered by jobs_finished_by_type and
-- jobs_finished_by_state (0008) for every query that read them (pruning and the dashboard's recent
-- counts now read one range of jobs_finished_by_state per terminal state): two index entries less per job.
DROP INDEX jobs_finished;
DROP INDEX jobs_finished_at;
