-- The states of a live job, so that a claim reads only what can run now:
--   scheduled  due later; the cluster's scheduler (on its leader) makes it pending when it falls due
--   pending    due, waiting for a silo (the only rows a claim reads)
--   parked     a job of a serial queue (queue_id) waiting for its turn: at most N jobs of one queue
--              are active (scheduled, pending or running) at a time, N = job_queues.max_running or 1
--   running    claimed by a silo
-- Before this migration a claim had to skip future jobs and walk every serial queue for its head;
-- now idle queues and future jobs are invisible to it.

DROP INDEX job_executions_due;
DROP INDEX job_executions_queue_heads;
DROP INDEX job_executions_queued_due;
DROP INDEX job_executions_queue_running;

ALTER TABLE job_executions DROP CONSTRAINT job_executions_state_check;
ALTER TABLE job_executions ALTER COLUMN state TYPE varchar(9);
ALTER TABLE job_executions ADD CONSTRAINT job_executions_state_check
    CHECK (state IN ('scheduled', 'pending', 'parked', 'running'));

-- Higher runs first within a type (one slot in ten still goes to the longest-waiting job).
ALTER TABLE job_executions ADD COLUMN priority smallint NOT NULL DEFAULT 0;
-- When the current run was claimed, on the application clock: how long a run was healthy before it failed.
ALTER TABLE job_executions ADD COLUMN started_at timestamptz;
-- An operator asked to cancel the running job; its silo fires the run's token.
ALTER TABLE job_executions ADD COLUMN cancel_requested_at timestamptz;

-- Existing rows: future ones are scheduled, and a serial queue keeps one active job, its earliest.
UPDATE job_executions SET state = 'scheduled' WHERE state = 'pending' AND execute_at > now();
UPDATE job_executions je SET state = 'parked'
FROM (SELECT id, row_number() OVER (PARTITION BY queue_id ORDER BY (state = 'running') DESC, execute_at, id) AS rn
      FROM job_executions WHERE queue_id IS NOT NULL) AS ranked
WHERE je.id = ranked.id AND ranked.rn > 1;

-- Claims: the due rows of a type, by priority then due time.
CREATE INDEX job_executions_ready ON job_executions (job_type, priority DESC, execute_at, id) WHERE state = 'pending';
-- The scheduler: the next scheduled job, and the ones that fell due.
CREATE INDEX job_executions_scheduled ON job_executions (execute_at) WHERE state = 'scheduled';
-- Serial queues: the waiting jobs of a queue in due order, its active ones, its running ones.
CREATE INDEX job_executions_queue_waiting ON job_executions (queue_id, execute_at, id)
    WHERE state <> 'running' AND queue_id IS NOT NULL;
CREATE INDEX job_executions_queue_active ON job_executions (queue_id)
    WHERE state IN ('scheduled', 'pending') AND queue_id IS NOT NULL;
CREATE INDEX job_executions_queue_running ON job_executions (queue_id)
    WHERE state = 'running' AND queue_id IS NOT NULL;
-- Running jobs per type: the cluster-wide concurrency limit.
CREATE INDEX job_executions_type_running ON job_executions (job_type) WHERE state = 'running';
-- Pruning across all types, oldest finished first.
CREATE INDEX jobs_finished_at ON jobs (finished_at) WHERE terminal_state IS NOT NULL;

-- Settings of a job type that apply cluster-wide and change at run time. No row: no limits, not paused.
CREATE TABLE job_types (
    job_type         varchar(128) PRIMARY KEY,
    paused           boolean NOT NULL DEFAULT false,
    -- at most this many jobs of the type run at once in the cluster (null: no limit)
    max_running      integer CHECK (max_running > 0),
    -- at most rate_limit starts per rate_period in the cluster (a token bucket: null, no limit)
    rate_limit       integer CHECK (rate_limit > 0),
    rate_period      interval CHECK (rate_period > interval '0'),
    rate_tokens      double precision,
    rate_refilled_at timestamptz,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    updated_by       text,
    CHECK ((rate_limit IS NULL) = (rate_period IS NULL))
);

-- Serial queues (queue_id) that may run more than one job at once. No row: one at a time.
CREATE TABLE job_queues (
    queue_id    varchar(256) PRIMARY KEY,
    max_running integer NOT NULL CHECK (max_running > 0),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
