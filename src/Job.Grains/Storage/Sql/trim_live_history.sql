-- The history of jobs that live longer than the retention (a job that reschedules itself can run for
-- years): of the next @jobs live jobs after @after (by id), deletes up to @limit events recorded before
-- @before, keeping each job's first event (initialized) and its current execution's (its latest
-- execution_scheduled and what follows it). Returns the last id visited (NULL when no live job comes
-- after @after) and how many events went.
WITH visited AS (
    SELECT id
    FROM {schema}.job_executions
    WHERE id > @after
    ORDER BY id
    LIMIT @jobs
), doomed AS (
    SELECT e.seq
    FROM visited v
    JOIN {schema}.job_events e ON e.job_id = v.id
    WHERE e.recorded_at < @before
      AND e.event_type <> 'initialized'
      AND e.seq < (SELECT max(s.seq) FROM {schema}.job_events s WHERE s.job_id = v.id AND s.event_type = 'execution_scheduled')
    LIMIT @limit
), gone AS (
    DELETE FROM {schema}.job_events e
    USING doomed d
    WHERE e.seq = d.seq
    RETURNING 1
)
SELECT (SELECT id FROM visited ORDER BY id DESC LIMIT 1), (SELECT count(*)::integer FROM gone)
