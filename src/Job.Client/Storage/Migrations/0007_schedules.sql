-- Recurring schedules, and the flow control a job type declares in code (issue 13).
-- A schedule is a cron expression (Cronos: five fields, or six with seconds) in a time zone, and the
-- job it spawns at each tick. The cron arithmetic happens in the runtime; the database keeps the
-- definitions, each schedule's next tick, and the key that lets each (schedule, tick) spawn one job
-- only, whatever silos start, stop or die: the cluster's leader turns due ticks into jobs with
-- job_schedule_fire, one transaction per schedule. Times are on the application clock.

CREATE TABLE job_schedules (
    name            varchar(200) PRIMARY KEY,
    job_type        varchar(128) NOT NULL,
    cron            varchar(200) NOT NULL,
    -- a time zone id (IANA, or Windows where the runtime maps it); ticks are stored as instants
    time_zone       varchar(100) NOT NULL,
    config          jsonb NOT NULL,
    priority        smallint NOT NULL DEFAULT 0,
    -- ticks missed while no leader ran (more than misfire_threshold before it started): skip them,
    -- run the latest once, or run the latest misfire_limit of them
    misfire         varchar(8) NOT NULL CHECK (misfire IN ('skip', 'run_once', 'catch_up')),
    misfire_limit   integer NOT NULL DEFAULT 1 CHECK (misfire_limit BETWEEN 1 AND 1000),
    misfire_threshold interval NOT NULL CHECK (misfire_threshold >= interval '1 second'),
    -- a tick due while the previous tick's job has not ended: skip it, queue it behind (the serial
    -- queue 'schedule:<name>'), or allow both to run
    overlap         varchar(5) NOT NULL CHECK (overlap IN ('skip', 'queue', 'allow')),
    paused          boolean NOT NULL DEFAULT false,
    -- removed at run time while declared in code: kept so that an unchanged declaration does not
    -- bring it back at the next start
    removed         boolean NOT NULL DEFAULT false,
    -- the earliest tick not handled yet (null: the expression fires no more)
    next_tick       timestamptz,
    last_tick       timestamptz,
    last_job_id     uuid,
    -- who wrote the definition last: a code declaration (at a silo's start) or a run-time change
    defined_by      varchar(8) NOT NULL CHECK (defined_by IN ('code', 'run_time')),
    -- the definition as last declared in code, and its hash; null for a schedule created at run time
    declared        jsonb,
    declared_hash   varchar(64),
    -- bumped by every write: the leader fires a tick only on the version it planned it for
    version         bigint NOT NULL DEFAULT 1,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    updated_by      text
);

-- The leader's question: which schedules are due, and when is the next one.
CREATE INDEX job_schedules_due ON job_schedules (next_tick) WHERE NOT paused AND NOT removed;

-- One row per handled tick: the unique key that makes a tick spawn one job cluster-wide. A tick
-- skipped because the previous tick's job had not ended has no job. Pruned with the history.
CREATE TABLE job_schedule_ticks (
    schedule    varchar(200) NOT NULL,
    tick        timestamptz NOT NULL,
    job_id      uuid,
    outcome     varchar(7) NOT NULL CHECK (outcome IN ('spawned', 'skipped')),
    recorded_at timestamptz NOT NULL,
    PRIMARY KEY (schedule, tick)
);
CREATE INDEX job_schedule_ticks_recorded ON job_schedule_ticks (recorded_at);

-- The limits a job type declares in code, as last applied (job_types holds the limits in force):
-- an unchanged declaration leaves a run-time change alone; a changed one applies on deploy.
CREATE TABLE job_type_declarations (
    job_type    varchar(128) PRIMARY KEY,
    max_running integer CHECK (max_running > 0),
    rate_limit  integer CHECK (rate_limit > 0),
    rate_period interval CHECK (rate_period > interval '0'),
    hash        varchar(64) NOT NULL,
    declared_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((rate_limit IS NULL) = (rate_period IS NULL))
);

-- Turns planned ticks of one schedule into jobs, in one transaction. The runtime plans the ticks
-- (the cron arithmetic) on version p_version of the schedule; if it changed since (an edit, a pause,
-- another leader's fire), nothing is written and one row 'stale' says to plan again. Each tick
-- takes its key in job_schedule_ticks first, so a tick handled before is a 'duplicate' and spawns
-- nothing. With overlap 'skip', a tick whose previous tick's job is still live (waiting, running
-- or retrying) is 'skipped'; with 'queue' the job joins the serial queue 'schedule:<name>'. A
-- spawned job is due at its tick and carries a schedule_tick event (reason: the schedule's name,
-- scheduled_at: the tick). The schedule then moves to p_next.
CREATE FUNCTION job_schedule_fire(p_name varchar, p_version bigint, p_ticks timestamptz[], p_ids uuid[],
                                  p_next timestamptz, p_trace_parent varchar, p_now timestamptz)
RETURNS TABLE (r_tick timestamptz, r_job_id uuid, r_outcome varchar)
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    v job_schedules%ROWTYPE;
    v_i integer;
    v_tick timestamptz;
    v_id uuid;
    v_rows integer;
    v_queue varchar;
    v_last_tick timestamptz;
BEGIN
    SELECT * INTO v FROM job_schedules s WHERE s.name = p_name FOR UPDATE;
    IF NOT FOUND OR v.version <> p_version OR v.paused OR v.removed THEN
        r_outcome := 'stale';
        RETURN NEXT;
        RETURN;
    END IF;

    v_queue := CASE WHEN v.overlap = 'queue' THEN 'schedule:' || v.name END;
    v_last_tick := v.last_tick;
    FOR v_i IN 1..coalesce(array_length(p_ticks, 1), 0) LOOP
        v_tick := p_ticks[v_i];
        v_id := p_ids[v_i];
        IF v.overlap = 'skip' AND v.last_job_id IS NOT NULL
           AND EXISTS (SELECT 1 FROM job_executions e WHERE e.id = v.last_job_id) THEN
            INSERT INTO job_schedule_ticks (schedule, tick, job_id, outcome, recorded_at)
            VALUES (v.name, v_tick, NULL, 'skipped', p_now) ON CONFLICT DO NOTHING;
            GET DIAGNOSTICS v_rows = ROW_COUNT;
            r_tick := v_tick;
            r_job_id := NULL;
            r_outcome := CASE WHEN v_rows > 0 THEN 'skipped' ELSE 'duplicate' END;
            RETURN NEXT;
        ELSE
            INSERT INTO job_schedule_ticks (schedule, tick, job_id, outcome, recorded_at)
            VALUES (v.name, v_tick, v_id, 'spawned', p_now) ON CONFLICT DO NOTHING;
            GET DIAGNOSTICS v_rows = ROW_COUNT;
            r_tick := v_tick;
            IF v_rows = 0 THEN
                r_job_id := NULL;
                r_outcome := 'duplicate';
            ELSE
                PERFORM job_spawn(v.job_type, ARRAY[v_id], ARRAY[v.config], ARRAY[v_tick], ARRAY[v_queue]::varchar[],
                                  ARRAY[v.priority], false, p_trace_parent, p_now);
                INSERT INTO job_events (job_id, event_type, scheduled_at, reason, recorded_at)
                VALUES (v_id, 'schedule_tick', v_tick, v.name, p_now);
                v.last_job_id := v_id;
                r_job_id := v_id;
                r_outcome := 'spawned';
            END IF;
            RETURN NEXT;
        END IF;

        v_last_tick := greatest(v_last_tick, v_tick);
    END LOOP;

    UPDATE job_schedules s
    SET next_tick = p_next, last_tick = v_last_tick, last_job_id = v.last_job_id, version = s.version + 1
    WHERE s.name = p_name;
END $$;

-- Applies a schedule's declaration in code at a silo's start, under a lock per name so that silos
-- starting together agree. New name: created. Same declaration as last applied (p_hash): nothing,
-- so a run-time change or removal stands. Changed declaration (or first declared for a schedule
-- made at run time): it becomes the definition, a removed schedule comes back, a pause stays; the
-- next tick moves to p_next only if the expression or time zone changed (or it was removed), so a
-- changed config neither skips nor repeats a tick. Returns created, changed or unchanged.
CREATE FUNCTION job_schedule_declare(p_name varchar, p_job_type varchar, p_cron varchar, p_time_zone varchar,
                                     p_config jsonb, p_priority smallint, p_misfire varchar, p_misfire_limit integer,
                                     p_misfire_threshold interval, p_overlap varchar, p_declared jsonb, p_hash varchar,
                                     p_next timestamptz)
RETURNS varchar
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    v job_schedules%ROWTYPE;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('job-schedule:' || p_name, 0));
    SELECT * INTO v FROM job_schedules s WHERE s.name = p_name FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO job_schedules (name, job_type, cron, time_zone, config, priority, misfire, misfire_limit, misfire_threshold,
                                   overlap, next_tick, defined_by, declared, declared_hash, updated_by)
        VALUES (p_name, p_job_type, p_cron, p_time_zone, p_config, p_priority, p_misfire, p_misfire_limit, p_misfire_threshold,
                p_overlap, p_next, 'code', p_declared, p_hash, 'code');
        PERFORM pg_notify('job_schedules', p_name);
        RETURN 'created';
    END IF;

    IF v.declared_hash IS NOT DISTINCT FROM p_hash THEN
        RETURN 'unchanged';
    END IF;

    UPDATE job_schedules s
    SET job_type = p_job_type, cron = p_cron, time_zone = p_time_zone, config = p_config, priority = p_priority,
        misfire = p_misfire, misfire_limit = p_misfire_limit, misfire_threshold = p_misfire_threshold, overlap = p_overlap,
        next_tick = CASE WHEN s.removed OR s.cron <> p_cron OR s.time_zone <> p_time_zone THEN p_next ELSE s.next_tick END,
        removed = false, defined_by = 'code', declared = p_declared, declared_hash = p_hash,
        version = s.version + 1, updated_at = now(), updated_by = 'code'
    WHERE s.name = p_name;
    PERFORM pg_notify('job_schedules', p_name);
    RETURN 'changed';
END $$;

-- Applies a job type's limits declared in code at a silo's start (p_hash null: the code declares
-- none), under a lock per type. Same declaration as last applied: nothing, so a run-time change
-- stands. Changed: the declared limits go into job_types (a rate bucket starts full only when the
-- rate changed), and every silo hears it on job_settings. No longer declared: the declared limits
-- are lifted. A pause is never touched. Returns applied, cleared or unchanged.
CREATE FUNCTION job_type_declare(p_type varchar, p_max_running integer, p_rate_limit integer, p_rate_period interval, p_hash varchar)
RETURNS varchar
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    v_hash varchar;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('job-type-declare:' || p_type, 0));
    SELECT d.hash INTO v_hash FROM job_type_declarations d WHERE d.job_type = p_type;
    IF p_hash IS NULL THEN
        IF v_hash IS NULL THEN
            RETURN 'unchanged';
        END IF;

        DELETE FROM job_type_declarations WHERE job_type = p_type;
        UPDATE job_types t
        SET max_running = NULL, rate_limit = NULL, rate_period = NULL, rate_tokens = NULL, rate_refilled_at = NULL,
            updated_at = now(), updated_by = 'code'
        WHERE t.job_type = p_type;
        PERFORM pg_notify('job_settings', p_type);
        RETURN 'cleared';
    END IF;

    IF v_hash IS NOT DISTINCT FROM p_hash THEN
        RETURN 'unchanged';
    END IF;

    INSERT INTO job_types AS t (job_type, max_running, rate_limit, rate_period, updated_at, updated_by)
    VALUES (p_type, p_max_running, p_rate_limit, p_rate_period, now(), 'code')
    ON CONFLICT (job_type) DO UPDATE SET
        max_running = EXCLUDED.max_running,
        rate_limit = EXCLUDED.rate_limit,
        rate_period = EXCLUDED.rate_period,
        rate_tokens = CASE WHEN t.rate_limit IS NOT DISTINCT FROM EXCLUDED.rate_limit AND t.rate_period IS NOT DISTINCT FROM EXCLUDED.rate_period
                           THEN t.rate_tokens END,
        rate_refilled_at = CASE WHEN t.rate_limit IS NOT DISTINCT FROM EXCLUDED.rate_limit AND t.rate_period IS NOT DISTINCT FROM EXCLUDED.rate_period
                                THEN t.rate_refilled_at END,
        updated_at = now(),
        updated_by = 'code';
    INSERT INTO job_type_declarations (job_type, max_running, rate_limit, rate_period, hash)
    VALUES (p_type, p_max_running, p_rate_limit, p_rate_period, p_hash)
    ON CONFLICT (job_type) DO UPDATE SET
        max_running = EXCLUDED.max_running, rate_limit = EXCLUDED.rate_limit, rate_period = EXCLUDED.rate_period,
        hash = EXCLUDED.hash, declared_at = now();
    PERFORM pg_notify('job_settings', p_type);
    RETURN 'applied';
END $$;
