-- The dispatch path's plans, made once per connection, fit the tables whatever their size then.
--
-- 1. A claim's ordering, inside the claim. 0010 wrapped job_claim in a SQL function that sorted its rows
--    by priority; PostgreSQL plans a SQL function's body anew on every call (a plpgsql function keeps
--    its plans), and that planning cost ~0.18 ms of server time per claim, about 40 % of claiming one
--    job (pg_stat_statements, one job spawned, claimed and finished in a loop: the wrapper 0.43 ms, the
--    function it wrapped 0.25 ms). The plpgsql claim returns its rows in that order itself: by priority
--    (highest first), then due time, the rows that report a blocked type last. The wrapper goes and the
--    claim takes back its name; nothing else of 0009's claim changes.
-- 2. No sequential scans in job_claim and job_finish. They run generic plans (0009), made the first time
--    a connection calls them: on a connection that first called them while the tables were small (a new
--    database, a worker started before the backlog), the planner chose to read the whole table, and kept
--    that plan as the table grew, until an ANALYZE of it invalidated the plan: the claim hash-joined all
--    of jobs (the finished history included) to read its rows' configs, and job_finish scanned all of
--    job_executions for the rows it deletes (0.6 ms each with 1,700 rows; it grows with the backlog).
--    With sequential scans off in the two functions every statement reads by index, as each is written
--    to: a primary-key probe per row.
-- 3. A type whose row another silo's claim holds is asked again after 2 ms, not 5: a claim holds it for
--    about a millisecond, and with the claim cheaper, two silos sharing a type with a limit that does
--    not bind lost 24-28 % of their throughput to the 5 ms wait (bench/ --workload limits: 15-20 % at 2 ms).
DROP FUNCTION job_claim(varchar[], integer[], integer[], integer, varchar, varchar, varchar, integer, integer, timestamptz);
DROP FUNCTION job_claim_batch(varchar[], integer[], integer[], integer, varchar, varchar, varchar, integer, integer, timestamptz);

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
CREATE FUNCTION job_claim(p_types varchar[], p_quotas integer[], p_oldest integer[], p_limit integer,
                          p_silo varchar, p_cluster varchar, p_address varchar, p_port integer, p_generation integer,
                          p_now timestamptz)
RETURNS TABLE (id uuid, job_type varchar, queue_id varchar, attempt integer, claim_token bigint,
               execution_state jsonb, retry_failed_at timestamptz, retry_due_at timestamptz, execute_at timestamptz,
               started_at timestamptz, config jsonb, trace_parent varchar, created_at timestamptz, blocked boolean)
LANGUAGE plpgsql SET search_path FROM CURRENT SET plan_cache_mode = force_generic_plan SET enable_seqscan = off AS $$
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
                        -- Another silo is claiming it right now, for about a millisecond: ask again in 2 ms.
                        v_blocked := v_blocked || v_type;
                        v_hints := v_hints || 2;
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
        ORDER BY e.priority DESC, e.execute_at, e.id; -- the order they should start in (the runners take them as they come)
    END IF;

    IF cardinality(v_blocked) > 0 THEN
        RETURN QUERY
        SELECT NULL::uuid, b.t, NULL::varchar, b.h, NULL::bigint, NULL::jsonb, NULL::timestamptz,
               NULL::timestamptz, NULL::timestamptz, NULL::timestamptz, NULL::jsonb, NULL::varchar, NULL::timestamptz, true
        FROM unnest(v_blocked, v_hints) AS b (t, h);
    END IF;
END $$;

ALTER FUNCTION job_finish(uuid[], bigint[], smallint[], integer[], integer[], timestamptz[], boolean[], text[], varchar[], timestamptz)
    SET enable_seqscan = off;
