-- When the poller should look again: the earliest future due time among its types. Rows already
-- due but not claimed are held by another poller (SKIP LOCKED) or blocked in a serial queue; a
-- NOTIFY wakes us when either changes, so they are not counted here (that would spin).
SELECT LEAST(
    (SELECT min(execute_at) FROM job_executions
      WHERE state = 'pending' AND queue_id IS NULL AND job_type = ANY(@types) AND execute_at > @now),
    (SELECT min(execute_at) FROM job_executions
      WHERE state = 'pending' AND queue_id IS NOT NULL AND job_type = ANY(@types) AND execute_at > @now))
