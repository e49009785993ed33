-- The job tables. Postgres is the source of truth: a job exists once its row is committed,
-- and every state change below is one committed write.

-- One row per job, kept after the job ends (the crate never deletes them either), so the
-- history and the terminal state stay readable.
CREATE TABLE jobs (
    id              uuid PRIMARY KEY,
    job_type        varchar(128) NOT NULL,
    unique_per_type boolean NOT NULL DEFAULT false,
    queue_id        varchar(256),
    config          jsonb NOT NULL,
    trace_parent    varchar(128),
    terminal_state  varchar(16) CHECK (terminal_state IN ('completed', 'errored', 'cancelled')),
    last_error      text,
    -- someone awaits this job: its end is announced on the job_terminal channel
    awaited         boolean NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL,
    finished_at     timestamptz
);

-- spawn-unique: at most one unique job per type, ever (the crate's semantics).
CREATE UNIQUE INDEX jobs_unique_per_type ON jobs (job_type) WHERE unique_per_type;

-- The queue: a row exists only while the job is live. It churns (claim, complete), so leave
-- room for HOT updates.
CREATE TABLE job_executions (
    id               uuid PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
    job_type         varchar(128) NOT NULL,
    queue_id         varchar(256),
    state            varchar(8) NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'running')),
    attempt          integer NOT NULL DEFAULT 1,
    -- due time on the application clock (artificial in tests)
    execute_at       timestamptz NOT NULL,
    -- fencing token: a fresh value per claim; every write back must present it
    claim_token      bigint,
    -- the silo (Orleans address) that claimed it: rescue when membership declares it dead
    claimed_by       varchar(256),
    -- heartbeat on real (database) time: liveness never follows the application clock
    alive_at         timestamptz,
    execution_state  jsonb,
    -- the latest retry window (failure time, retry due time), for the attempt-counter reset
    retry_failed_at  timestamptz,
    retry_due_at     timestamptz,
    created_at       timestamptz NOT NULL
) WITH (fillfactor = 70, autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.02);

CREATE SEQUENCE job_claim_tokens;

-- The claim path for jobs outside serial queues: due rows of a type, oldest first.
CREATE INDEX job_executions_due ON job_executions (job_type, execute_at, id)
    WHERE state = 'pending' AND queue_id IS NULL;
-- The claim path for serial queues: the head of each queue.
CREATE INDEX job_executions_queue_heads ON job_executions (queue_id, execute_at, id)
    WHERE state = 'pending' AND queue_id IS NOT NULL;
-- The next due time of queued rows per type (the poller's sleep).
CREATE INDEX job_executions_queued_due ON job_executions (job_type, execute_at)
    WHERE state = 'pending' AND queue_id IS NOT NULL;
-- At most one running job per queue, enforced by the database, not only by the claim query.
CREATE UNIQUE INDEX job_executions_queue_running ON job_executions (queue_id)
    WHERE state = 'running' AND queue_id IS NOT NULL;
-- Rescue of a dead silo's jobs and the heartbeat fallback.
CREATE INDEX job_executions_running ON job_executions (claimed_by, alive_at)
    WHERE state = 'running';

-- The history: append-only, written in the same transaction as the change it records.
CREATE TABLE job_events (
    seq          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id       uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    event_type   varchar(32) NOT NULL,
    attempt      integer,
    scheduled_at timestamptz,
    error_message text,
    error_type   varchar(512),
    reason       text,
    recorded_at  timestamptz NOT NULL
);
CREATE INDEX job_events_by_job ON job_events (job_id, seq);
