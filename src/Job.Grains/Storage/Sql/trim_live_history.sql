-- The history of jobs that live longer than the retention (a job that reschedules itself can run for
-- years): of the next @jobs live jobs after @after (by id), deletes the events recorded before @before
-- among each job's oldest @per_job events, except its provenance (initialized, schedule_tick) and its
-- last two executions (from its second-latest execution_scheduled on: the current run, and the run
-- before it with its outcome, its error and stack trace, or what put it back). A job reads at most
-- @per_job of its events, however long its history. Returns the last id visited (NULL when no live job
-- comes after @after), how many events went, and whether a job may hold more to delete (it read
-- @per_job events and deleted some).
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
        WHERE s.job_id = v.id AND s.event_type = 'execution_scheduled'
        ORDER BY s.seq DESC
        OFFSET 1
        LIMIT 1
    ) k
), oldest AS (
    SELECT b.id, o.seq, o.recorded_at, o.event_type
    FROM bounds b
    CROSS JOIN LATERAL (
        SELECT e.seq, e.recorded_at, e.event_type
        FROM {schema}.job_events e
        WHERE e.job_id = b.id AND e.seq < b.keep_from
        ORDER BY e.seq
        LIMIT @per_job
    ) o
), gone AS (
    DELETE FROM {schema}.job_events e
    USING oldest o
    WHERE e.seq = o.seq AND o.recorded_at < @before AND o.event_type NOT IN ('initialized', 'schedule_tick')
    RETURNING o.id
), per_job AS (
    SELECT o.id, count(*) AS read FROM oldest o GROUP BY o.id
)
SELECT (SELECT id FROM visited ORDER BY id DESC LIMIT 1),
       (SELECT count(*)::integer FROM gone),
       EXISTS (SELECT 1 FROM per_job p WHERE p.read = @per_job AND p.id IN (SELECT g.id FROM gone g))
