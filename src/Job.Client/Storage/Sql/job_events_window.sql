-- A window of one job's history for a page: up to @limit events before sequence @before (the newest
-- ones when @before is null), newest first, each row with how many events the job holds in all. One
-- more row than a page is asked for, so that the caller knows whether earlier events exist. A window
-- past the first event still returns the total, on one row whose event columns are null.
WITH total AS (
    SELECT count(*) AS n FROM {schema}.job_events WHERE job_id = @id
), window_events AS (
    SELECT seq, event_type, attempt, scheduled_at, error_message, error_type, reason, recorded_at, actor, error_detail
    FROM {schema}.job_events
    -- A range on job_id, not an equality, keeps job_id in the order: only job_events_by_job then reads
    -- the window in order. With an equality the planner may walk the primary key (seq) backward over
    -- every job's newer events, as it did on a table where this job held a sixth of the rows (114 ms).
    WHERE job_id >= @id AND job_id <= @id AND seq < coalesce(@before, 9223372036854775807)
    ORDER BY job_id DESC, seq DESC
    LIMIT @limit
)
SELECT w.seq, w.event_type, w.attempt, w.scheduled_at, w.error_message, w.error_type, w.reason, w.recorded_at, w.actor, w.error_detail, t.n
FROM total t LEFT JOIN window_events w ON true
ORDER BY w.seq DESC
