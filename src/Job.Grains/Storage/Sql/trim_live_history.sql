-- The history of jobs that live longer than the retention (a job that reschedules itself can run for
-- years): of the next @jobs live jobs after @after (by id), deletes the events recorded before @before
-- among each job's oldest @per_job events, except its provenance (initialized, schedule_tick) and its
-- last two executions (from its second-latest execution_scheduled on: the current run, and the run
-- before it with its outcome, its error and stack trace, or what put it back). A job whose oldest other
-- event is within the retention costs two index probes; one with old events reads at most @per_job.
-- Returns the last id visited (NULL when no live job comes after @after), how many events went, and
-- whether a job may hold more to delete (it read @per_job events and deleted some).
-- The ranges on job_id (not equalities) keep job_id in the index order, so that each job's events are
-- read in seq order and the LIMITs stop the scans (with an equality the planner may read a job's every
-- event and sort them). Run after jit_off.sql in a transaction of its own: its estimate (a thousand
-- jobs' reads of up to @per_job events) is far above its usual work, and made PostgreSQL JIT-compile it,
-- 300-450 ms for a statement that takes 8 ms.
WITH visited AS (
    SELECT id
    FROM {schema}.job_executions
    WHERE id > @after
    ORDER BY id
    LIMIT @jobs
), bounds AS (
    SELECT v.id, k.seq AS keep_from
    FROM visited v
    CROSS JOIN LATERAL (
        SELECT s.seq
        FROM {schema}.job_events s
        WHERE s.job_id >= v.id AND s.job_id <= v.id AND s.event_type = 'execution_scheduled'
        ORDER BY s.job_id DESC, s.seq DESC
        OFFSET 1
        LIMIT 1
    ) k
), aged AS (
    SELECT b.id, b.keep_from
    FROM bounds b
    CROSS JOIN LATERAL (
        SELECT p.recorded_at
        FROM {schema}.job_events p
        WHERE p.job_id >= b.id AND p.job_id <= b.id AND p.seq < b.keep_from AND p.event_type NOT IN ('initialized', 'schedule_tick')
        ORDER BY p.job_id, p.seq
        LIMIT 1
    ) first_other
    WHERE first_other.recorded_at < @before
), oldest AS (
    SELECT a.id, o.seq, o.recorded_at, o.event_type
    FROM aged a
    CROSS JOIN LATERAL (
        SELECT e.seq, e.recorded_at, e.event_type
        FROM {schema}.job_events e
        WHERE e.job_id >= a.id AND e.job_id <= a.id AND e.seq < a.keep_from
        ORDER BY e.job_id, e.seq
        LIMIT @per_job
    ) o
), gone AS (
    -- By primary key from an array: a join here may be planned as a hash over the whole table.
    DELETE FROM {schema}.job_events e
    WHERE e.seq = ANY (ARRAY(
        SELECT o.seq FROM oldest o
        WHERE o.recorded_at < @before AND o.event_type NOT IN ('initialized', 'schedule_tick')))
    RETURNING e.job_id AS id
), per_job AS (
    SELECT o.id, count(*) AS read FROM oldest o GROUP BY o.id
)
SELECT (SELECT id FROM visited ORDER BY id DESC LIMIT 1),
       (SELECT count(*)::integer FROM gone),
       EXISTS (SELECT 1 FROM per_job p WHERE p.read = @per_job AND p.id IN (SELECT g.id FROM gone g))
