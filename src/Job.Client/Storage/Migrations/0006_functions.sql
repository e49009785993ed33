-- The state changes that take more than one statement, as functions: one round trip each, one
-- transaction (the caller's, when a spawn or a completion joins the application's transaction).
-- Each is bound to this schema (SET search_path FROM CURRENT: the migration runs with the schema
-- as its only search path), so it works whatever the caller's search_path is. Due times are on
-- the application clock (p_now); heartbeats and rate limits on the database's.
-- Notifications (delivered on commit):
--   job_ready      <type>            jobs of the type are pending: silos that run it claim
--   job_scheduled  <Unix micros>     a job was scheduled for then: the scheduler may wake earlier
--   job_terminal   <job id>          an awaited job ended
--   job_cancel     <job id>          an operator asked to cancel a running job

CREATE FUNCTION job_micros(p_at timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE AS $$ SELECT (extract(epoch FROM p_at) * 1000000)::bigint::text $$;

-- The active jobs of a serial queue are its earliest-due (N - running) waiting ones, N its limit
-- (job_queues, 1 by default); the others are parked. Called after anything that changes a queue.
-- Queues are locked one at a time in name order (a transaction-scoped advisory lock), so two
-- writers never both promote. A claim moves an active job from pending to running, which keeps the
-- count, and takes no queue lock: the rebalance holds the queue's claimable rows instead. Costs
-- O(N) per queue, never the queue's whole backlog.
CREATE FUNCTION job_queue_rebalance(p_queues varchar[], p_now timestamptz) RETURNS void
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    v_queue varchar;
    v_limit integer;
    v_wanted uuid[];
    v_ready varchar[];
    v_later timestamptz;
BEGIN
    FOR v_queue IN SELECT DISTINCT q FROM unnest(p_queues) AS q WHERE q IS NOT NULL ORDER BY q LOOP
        PERFORM pg_advisory_xact_lock(hashtextextended('job-queue:' || v_queue, 0));
        v_limit := coalesce((SELECT max_running FROM job_queues WHERE queue_id = v_queue), 1);
        -- The queue's claimable rows are held until commit: a claim in flight is waited for (its row
        -- then counts as running), and no claim takes one of them while this decides.
        PERFORM 1 FROM job_executions WHERE queue_id = v_queue AND state IN ('scheduled', 'pending') FOR UPDATE;
        -- One statement, one snapshot: the running count and the waiting rows must agree (a claim or a
        -- rescue committing between two statements would let a second job of the queue start).
        v_wanted := ARRAY(
            SELECT id FROM job_executions
            WHERE queue_id = v_queue AND state <> 'running'
            ORDER BY execute_at, id
            LIMIT greatest(v_limit - (SELECT count(*) FROM job_executions WHERE queue_id = v_queue AND state = 'running'), 0));

        UPDATE job_executions SET state = 'parked'
        WHERE queue_id = v_queue AND state IN ('scheduled', 'pending') AND NOT (id = ANY (v_wanted));

        WITH activated AS (
            UPDATE job_executions
            SET state = CASE WHEN execute_at <= p_now THEN 'pending' ELSE 'scheduled' END
            WHERE id = ANY (v_wanted) AND state = 'parked'
            RETURNING job_type, state, execute_at
        )
        SELECT array_agg(DISTINCT job_type) FILTER (WHERE state = 'pending'), min(execute_at) FILTER (WHERE state = 'scheduled')
        INTO v_ready, v_later
        FROM activated;

        PERFORM pg_notify('job_ready', t) FROM unnest(v_ready) AS t;
        IF v_later IS NOT NULL THEN
            PERFORM pg_notify('job_scheduled', job_micros(v_later));
        END IF;
    END LOOP;
END $$;

-- Spawns a batch of jobs of one type: the job rows, their live rows and the first history events.
-- A job of a serial queue starts parked and the queue is rebalanced. With p_unique the batch is one
-- job that is created only if no unique job of the type ever was (returns 0 then).
CREATE FUNCTION job_spawn(p_type varchar, p_ids uuid[], p_configs jsonb[], p_execute_at timestamptz[],
                          p_queue_ids varchar[], p_priorities smallint[], p_unique boolean,
                          p_trace_parent varchar, p_now timestamptz) RETURNS integer
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    v_created integer;
    v_queues varchar[];
    v_later timestamptz;
BEGIN
    IF p_unique THEN
        INSERT INTO jobs (id, job_type, unique_per_type, queue_id, config, trace_parent, created_at)
        SELECT i.id, p_type, true, i.queue_id, i.config, p_trace_parent, p_now
        FROM unnest(p_ids, p_configs, p_queue_ids) AS i (id, config, queue_id)
        ON CONFLICT (job_type) WHERE unique_per_type DO NOTHING;
    ELSE
        INSERT INTO jobs (id, job_type, unique_per_type, queue_id, config, trace_parent, created_at)
        SELECT i.id, p_type, false, i.queue_id, i.config, p_trace_parent, p_now
        FROM unnest(p_ids, p_configs, p_queue_ids) AS i (id, config, queue_id);
    END IF;

    GET DIAGNOSTICS v_created = ROW_COUNT;
    IF v_created = 0 THEN
        RETURN 0;
    END IF;

    INSERT INTO job_executions (id, job_type, queue_id, state, execute_at, priority, created_at)
    SELECT i.id, p_type, i.queue_id,
           CASE WHEN i.queue_id IS NOT NULL THEN 'parked' WHEN i.execute_at <= p_now THEN 'pending' ELSE 'scheduled' END,
           i.execute_at, coalesce(i.priority, 0), p_now
    FROM unnest(p_ids, p_execute_at, p_queue_ids, p_priorities) AS i (id, execute_at, queue_id, priority);

    INSERT INTO job_events (job_id, event_type, attempt, scheduled_at, recorded_at)
    SELECT i.id, e.event_type, e.attempt, CASE WHEN e.attempt IS NULL THEN NULL ELSE i.execute_at END, p_now
    FROM unnest(p_ids, p_execute_at) WITH ORDINALITY AS i (id, execute_at, n)
    CROSS JOIN (VALUES (1, 'initialized', NULL::integer), (2, 'execution_scheduled', 1)) AS e (ord, event_type, attempt)
    ORDER BY i.n, e.ord;

    v_queues := ARRAY(SELECT DISTINCT q FROM unnest(p_queue_ids) AS q WHERE q IS NOT NULL);
    IF cardinality(v_queues) > 0 THEN
        PERFORM job_queue_rebalance(v_queues, p_now);
    END IF;

    IF EXISTS (SELECT 1 FROM unnest(p_execute_at, p_queue_ids) AS i (execute_at, queue_id) WHERE i.queue_id IS NULL AND i.execute_at <= p_now) THEN
        PERFORM pg_notify('job_ready', p_type);
    END IF;

    SELECT min(i.execute_at) INTO v_later
    FROM unnest(p_execute_at, p_queue_ids) AS i (execute_at, queue_id)
    WHERE i.queue_id IS NULL AND i.execute_at > p_now;
    IF v_later IS NOT NULL THEN
        PERFORM pg_notify('job_scheduled', job_micros(v_later));
    END IF;

    RETURN v_created;
END $$;

-- The scheduler: scheduled jobs due at p_now become pending, up to p_limit oldest first; their types'
-- silos are woken. Returns how many moved and when the next scheduled job is due.
CREATE FUNCTION job_promote(p_now timestamptz, p_limit integer, OUT promoted integer, OUT next_due timestamptz)
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    v_types varchar[];
BEGIN
    WITH due AS (
        SELECT id FROM job_executions
        WHERE state = 'scheduled' AND execute_at <= p_now
        ORDER BY execute_at
        LIMIT p_limit
        FOR UPDATE SKIP LOCKED
    ), moved AS (
        UPDATE job_executions je SET state = 'pending'
        FROM due WHERE je.id = due.id AND je.state = 'scheduled'
        RETURNING je.job_type
    )
    SELECT count(*), array_agg(DISTINCT job_type) INTO promoted, v_types FROM moved;

    PERFORM pg_notify('job_ready', t) FROM unnest(v_types) AS t;
    next_due := (SELECT execute_at FROM job_executions WHERE state = 'scheduled' ORDER BY execute_at LIMIT 1);
END $$;

-- Claims pending jobs of the given types for one silo, in one transaction. Per type: a paused type
-- is skipped; a type with a cluster-wide concurrency or rate limit is claimed by one silo at a time
-- (its job_types row locked, SKIP LOCKED: a busy one is reported blocked, not waited for) and gets
-- no more than its limits leave; p_oldest[i] of the type's slots go to its longest-waiting jobs,
-- the rest by priority, then due time. p_quotas give each type its fair share of p_limit; what a
-- type leaves unused goes, in a second pass, to the types that filled theirs. A silo that Orleans
-- membership does not list as active (declared dead while it did not know) claims nothing.
-- Rows with blocked = true name a type whose limits kept due jobs waiting (only job_type is set).
CREATE FUNCTION job_claim(p_types varchar[], p_quotas integer[], p_oldest integer[], p_limit integer,
                          p_silo varchar, p_cluster varchar, p_address varchar, p_port integer, p_generation integer,
                          p_now timestamptz)
RETURNS TABLE (id uuid, job_type varchar, queue_id varchar, attempt integer, claim_token bigint,
               execution_state jsonb, retry_failed_at timestamptz, retry_due_at timestamptz, execute_at timestamptz,
               started_at timestamptz, config jsonb, trace_parent varchar, created_at timestamptz, blocked boolean)
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
#variable_conflict use_column
DECLARE
    v_claimed uuid[] := '{}';
    v_taken integer := 0;
    v_full varchar[] := '{}';
    v_blocked varchar[] := '{}';
    v_pass integer;
    v_i integer;
    v_type varchar;
    v_want integer;
    v_oldest integer;
    v_got uuid[];
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

            SELECT * INTO v_settings FROM job_types t WHERE t.job_type = v_type;
            IF FOUND THEN
                CONTINUE WHEN v_settings.paused;
                IF v_settings.max_running IS NOT NULL OR v_settings.rate_limit IS NOT NULL THEN
                    SELECT * INTO v_settings FROM job_types t WHERE t.job_type = v_type FOR UPDATE SKIP LOCKED;
                    IF NOT FOUND THEN
                        v_blocked := v_blocked || v_type; -- another silo is claiming it right now
                        CONTINUE;
                    END IF;

                    CONTINUE WHEN v_settings.paused;
                    v_limited := true;
                    IF v_settings.max_running IS NOT NULL THEN
                        SELECT count(*) INTO v_running FROM job_executions e WHERE e.job_type = v_type AND e.state = 'running';
                        v_want := least(v_want, v_settings.max_running - v_running);
                    END IF;

                    IF v_settings.rate_limit IS NOT NULL THEN
                        v_tokens := least(v_settings.rate_limit::double precision,
                            coalesce(v_settings.rate_tokens, v_settings.rate_limit)
                            + extract(epoch FROM clock_timestamp() - coalesce(v_settings.rate_refilled_at, clock_timestamp()))
                              * v_settings.rate_limit / extract(epoch FROM v_settings.rate_period));
                        v_want := least(v_want, floor(v_tokens)::integer);
                    END IF;

                    IF v_want <= 0 THEN
                        IF EXISTS (SELECT 1 FROM job_executions e WHERE e.job_type = v_type AND e.state = 'pending') THEN
                            v_blocked := v_blocked || v_type;
                        END IF;
                        CONTINUE;
                    END IF;

                    v_oldest := least(v_oldest, v_want);
                END IF;
            END IF;

            -- The longest-waiting first, whatever their priority: the heads of each priority.
            v_got := '{}';
            IF v_oldest > 0 THEN
                v_got := ARRAY(
                    WITH RECURSIVE priorities AS (
                        (SELECT e.priority FROM job_executions e
                         WHERE e.state = 'pending' AND e.job_type = v_type ORDER BY e.priority DESC LIMIT 1)
                        UNION ALL
                        SELECT (SELECT e.priority FROM job_executions e
                                WHERE e.state = 'pending' AND e.job_type = v_type AND e.priority < p.priority
                                ORDER BY e.priority DESC LIMIT 1)
                        FROM priorities p WHERE p.priority IS NOT NULL)
                    SELECT h.id FROM priorities p
                    CROSS JOIN LATERAL (
                        SELECT e.id, e.execute_at FROM job_executions e
                        WHERE e.state = 'pending' AND e.job_type = v_type AND e.priority = p.priority
                        ORDER BY e.execute_at, e.id
                        LIMIT v_oldest
                        FOR UPDATE SKIP LOCKED) AS h
                    WHERE p.priority IS NOT NULL
                    ORDER BY h.execute_at, h.id
                    LIMIT v_oldest);
            END IF;

            v_got := v_got || ARRAY(
                SELECT e.id FROM job_executions e
                WHERE e.state = 'pending' AND e.job_type = v_type AND NOT (e.id = ANY (v_got))
                ORDER BY e.priority DESC, e.execute_at, e.id
                LIMIT v_want - cardinality(v_got)
                FOR UPDATE SKIP LOCKED);

            IF cardinality(v_got) > 0 THEN
                UPDATE job_executions e
                SET state = 'running', claim_token = nextval('job_claim_tokens'), claimed_by = p_silo,
                    alive_at = now(), started_at = p_now, cancel_requested_at = NULL
                WHERE e.id = ANY (v_got);
                v_claimed := v_claimed || v_got;
                v_taken := v_taken + cardinality(v_got);
            END IF;

            IF v_limited AND v_settings.rate_limit IS NOT NULL THEN
                UPDATE job_types t SET rate_tokens = v_tokens - cardinality(v_got), rate_refilled_at = clock_timestamp()
                WHERE t.job_type = v_type;
            END IF;

            IF v_pass = 1 AND cardinality(v_got) = v_want THEN
                v_full := v_full || v_type;
            END IF;
        END LOOP;
    END LOOP;

    RETURN QUERY
    SELECT e.id, e.job_type, e.queue_id, e.attempt, e.claim_token, e.execution_state, e.retry_failed_at,
           e.retry_due_at, e.execute_at, e.started_at, j.config, j.trace_parent, j.created_at, false
    FROM job_executions e JOIN jobs j ON j.id = e.id
    WHERE e.id = ANY (v_claimed)
    ORDER BY e.execute_at, e.id;

    RETURN QUERY
    SELECT NULL::uuid, b, NULL::varchar, NULL::integer, NULL::bigint, NULL::jsonb, NULL::timestamptz,
           NULL::timestamptz, NULL::timestamptz, NULL::timestamptz, NULL::jsonb, NULL::varchar, NULL::timestamptz, true
    FROM unnest(v_blocked) AS b;
END $$;

-- Writes the outcomes of a batch of runs, each fenced by its claim (a stale claim writes nothing)
-- and returned when applied. Kinds: 1 completed, 2 rescheduled (to p_at, attempt back to 1),
-- 3 retry (attempt p_next_attempts at p_at, after a failure), 4 errored (the last attempt failed),
-- 5 handed back (pending again, due as before, attempt kept: shutdown, a run that could not start),
-- 6 cancelled (an operator's cancel reached the run). p_messages is the error of a failure or the
-- reason of a hand-back.
CREATE FUNCTION job_finish(p_ids uuid[], p_tokens bigint[], p_kinds smallint[], p_attempts integer[],
                           p_next_attempts integer[], p_at timestamptz[], p_resets boolean[], p_messages text[],
                           p_error_types varchar[], p_now timestamptz)
RETURNS TABLE (id uuid, claim_token bigint)
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
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
    -- Terminal outcomes: the live row goes, the job row keeps how it ended.
    WITH input AS (
        SELECT * FROM unnest(p_ids, p_tokens, p_kinds, p_attempts, p_resets, p_messages, p_error_types)
            AS t (id, token, kind, attempt, reset, message, error_type)
        WHERE t.kind IN (1, 4, 6)
    ), done AS (
        DELETE FROM job_executions je USING input
        WHERE je.id = input.id AND je.claim_token = input.token AND je.state = 'running'
        RETURNING je.id, je.claim_token, je.job_type, je.queue_id, input.kind, input.attempt, input.reset, input.message, input.error_type
    ), finished AS (
        UPDATE jobs j
        SET terminal_state = CASE done.kind WHEN 1 THEN 'completed' WHEN 4 THEN 'errored' ELSE 'cancelled' END,
            finished_at = p_now,
            last_error = CASE WHEN done.kind = 4 THEN done.message ELSE j.last_error END
        FROM done WHERE j.id = done.id
        RETURNING j.id, j.awaited
    ), events AS (
        INSERT INTO job_events (job_id, event_type, attempt, error_message, error_type, reason, recorded_at)
        SELECT done.id, e.event_type, e.attempt, e.message, e.error_type, e.reason, p_now
        FROM done CROSS JOIN LATERAL (VALUES
            (1, CASE WHEN done.kind = 4 AND done.reset THEN 'attempt_counter_reset' END, NULL::integer, NULL::text, NULL::varchar, NULL::text),
            (2, CASE done.kind WHEN 1 THEN 'execution_completed' WHEN 4 THEN 'execution_errored' ELSE 'execution_aborted' END,
                done.attempt, CASE WHEN done.kind = 4 THEN done.message END, CASE WHEN done.kind = 4 THEN done.error_type END,
                CASE WHEN done.kind = 6 THEN 'cancelled' END),
            (3, CASE done.kind WHEN 1 THEN 'job_completed' WHEN 4 THEN 'job_errored' ELSE 'job_cancelled' END,
                CASE WHEN done.kind = 4 THEN done.attempt END, NULL, NULL, NULL)) AS e (ord, event_type, attempt, message, error_type, reason)
        WHERE e.event_type IS NOT NULL
        ORDER BY done.id, e.ord
        RETURNING job_id
    )
    SELECT array_agg(done.id), array_agg(done.claim_token),
           array_agg(DISTINCT done.queue_id) FILTER (WHERE done.queue_id IS NOT NULL),
           array_agg(DISTINCT done.job_type) FILTER (WHERE jt.max_running IS NOT NULL),
           (SELECT count(pg_notify('job_terminal', f.id::text)) FROM finished f WHERE f.awaited)
    INTO v_ended_ids, v_ended_tokens, v_queues, v_ready, v_notified
    FROM done LEFT JOIN job_types jt ON jt.job_type = done.job_type;

    -- Runs again: rescheduled, retried after a failure, or handed back.
    WITH input AS (
        SELECT * FROM unnest(p_ids, p_tokens, p_kinds, p_attempts, p_next_attempts, p_at, p_resets, p_messages, p_error_types)
            AS t (id, token, kind, attempt, next_attempt, at, reset, message, error_type)
        WHERE t.kind IN (2, 3, 5)
    ), moved AS (
        UPDATE job_executions je
        SET state = CASE WHEN (CASE WHEN input.kind = 5 THEN je.execute_at ELSE input.at END) <= p_now THEN 'pending' ELSE 'scheduled' END,
            execute_at = CASE WHEN input.kind = 5 THEN je.execute_at ELSE input.at END,
            attempt = CASE input.kind WHEN 2 THEN 1 WHEN 3 THEN input.next_attempt ELSE je.attempt END,
            retry_failed_at = CASE input.kind WHEN 2 THEN NULL WHEN 3 THEN p_now ELSE je.retry_failed_at END,
            retry_due_at = CASE input.kind WHEN 2 THEN NULL WHEN 3 THEN input.at ELSE je.retry_due_at END,
            claim_token = NULL, claimed_by = NULL, alive_at = NULL, started_at = NULL, cancel_requested_at = NULL
        FROM input
        WHERE je.id = input.id AND je.claim_token = input.token AND je.state = 'running'
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

    v_queues := coalesce(v_queues, '{}') || coalesce(v_more_queues, '{}');
    IF cardinality(v_queues) > 0 THEN
        PERFORM job_queue_rebalance(v_queues, p_now);
    END IF;

    PERFORM pg_notify('job_ready', r) FROM (SELECT DISTINCT r FROM unnest(coalesce(v_ready, '{}') || coalesce(v_more_ready, '{}')) AS r) AS d;
    IF v_later IS NOT NULL THEN
        PERFORM pg_notify('job_scheduled', job_micros(v_later));
    END IF;

    RETURN QUERY
    SELECT a.id, a.token FROM unnest(coalesce(v_ended_ids, '{}') || coalesce(v_moved_ids, '{}'),
                                     coalesce(v_ended_tokens, '{}') || coalesce(v_moved_tokens, '{}')) AS a (id, token);
END $$;

-- Puts running jobs back to pending when their runner is gone: claimed by p_silo (Orleans declared
-- it dead), by any silo membership lists as dead in p_cluster (the leader's sweep), or with a
-- heartbeat older than p_lost_after (database time). The attempt is counted, the due time kept
-- (so a serial queue keeps its order), and the history says why.
CREATE FUNCTION job_rescue(p_silo varchar, p_cluster varchar, p_lost_after interval, p_event varchar, p_reason text, p_now timestamptz)
RETURNS TABLE (id uuid, job_type varchar, claimed_by varchar)
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
#variable_conflict use_column
DECLARE
    v_ids uuid[];
    v_types varchar[];
    v_silos varchar[];
BEGIN
    WITH lost AS (
        SELECT je.id, je.claimed_by FROM job_executions je
        WHERE je.state = 'running'
          AND ((p_silo IS NOT NULL AND je.claimed_by = p_silo)
            OR (p_cluster IS NOT NULL AND je.claimed_by IN (
                    SELECT m.address || ':' || m.port || '@' || m.generation FROM orleans_membership m
                    WHERE m.deployment_id = p_cluster AND m.status = 6))
            OR (p_lost_after IS NOT NULL AND je.alive_at < now() - p_lost_after))
        FOR UPDATE SKIP LOCKED
    ), moved AS (
        UPDATE job_executions je
        SET state = 'pending', attempt = je.attempt + 1, claim_token = NULL, claimed_by = NULL, alive_at = NULL,
            started_at = NULL, cancel_requested_at = NULL
        FROM lost WHERE je.id = lost.id
        RETURNING je.id, je.job_type, je.attempt, je.execute_at, lost.claimed_by
    ), events AS (
        INSERT INTO job_events (job_id, event_type, attempt, scheduled_at, reason, recorded_at)
        SELECT moved.id, e.event_type, moved.attempt, e.scheduled_at, e.reason, p_now
        FROM moved CROSS JOIN LATERAL (VALUES
            (1, p_event, NULL::timestamptz, p_reason || CASE WHEN p_silo IS NULL AND p_lost_after IS NULL THEN ' (silo ' || moved.claimed_by || ')' ELSE '' END),
            (2, 'execution_scheduled', moved.execute_at, NULL))
            AS e (ord, event_type, scheduled_at, reason)
        ORDER BY moved.id, e.ord
        RETURNING job_id
    )
    SELECT array_agg(moved.id), array_agg(moved.job_type), array_agg(moved.claimed_by)
    INTO v_ids, v_types, v_silos
    FROM moved;

    PERFORM pg_notify('job_ready', t) FROM (SELECT DISTINCT t FROM unnest(v_types) AS t) AS d;
    RETURN QUERY SELECT r.id, r.job_type, r.claimed_by FROM unnest(v_ids, v_types, v_silos) AS r (id, job_type, claimed_by);
END $$;

-- Cancels a job: one that waits (scheduled, pending or parked) ends cancelled at once (returns 1);
-- a running one is asked to stop (cancel_requested_at, and job_cancel to its silo, which fires the
-- run's token): returns 2; a finished or unknown job: 0.
CREATE FUNCTION job_cancel(p_id uuid, p_reason text, p_now timestamptz) RETURNS integer
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    v_state varchar;
    v_queue varchar;
    v_awaited boolean;
BEGIN
    -- A queued job's queue is locked before its row, in the order the queue's rebalance takes them
    -- (the other way round, a rebalance holding the queue and waiting for this row would deadlock).
    v_queue := (SELECT je.queue_id FROM job_executions je WHERE je.id = p_id);
    IF v_queue IS NOT NULL THEN
        PERFORM pg_advisory_xact_lock(hashtextextended('job-queue:' || v_queue, 0));
    END IF;

    SELECT je.state INTO v_state FROM job_executions je WHERE je.id = p_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN 0;
    END IF;

    IF v_state = 'running' THEN
        UPDATE job_executions SET cancel_requested_at = coalesce(cancel_requested_at, p_now) WHERE id = p_id;
        INSERT INTO job_events (job_id, event_type, reason, recorded_at) VALUES (p_id, 'cancel_requested', p_reason, p_now);
        PERFORM pg_notify('job_cancel', p_id::text);
        RETURN 2;
    END IF;

    DELETE FROM job_executions WHERE id = p_id;
    UPDATE jobs SET terminal_state = 'cancelled', finished_at = p_now WHERE id = p_id RETURNING awaited INTO v_awaited;
    INSERT INTO job_events (job_id, event_type, reason, recorded_at) VALUES (p_id, 'job_cancelled', p_reason, p_now);
    IF v_awaited THEN
        PERFORM pg_notify('job_terminal', p_id::text);
    END IF;

    IF v_queue IS NOT NULL THEN
        PERFORM job_queue_rebalance(ARRAY[v_queue], p_now);
    END IF;

    RETURN 1;
END $$;
