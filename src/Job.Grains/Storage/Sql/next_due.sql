-- When the poller should look again: the earliest future due time among its types, one index
-- probe per type (a plain min() over "job_type = ANY(...)" would read every future row). Rows
-- already due but not claimed are held by another poller (SKIP LOCKED) or blocked in a serial
-- queue; a NOTIFY wakes us when either changes, so they are not counted here (that would spin).
SELECT min(next_at)
FROM unnest(@types::varchar[]) AS t (job_type)
CROSS JOIN LATERAL (
    SELECT (SELECT je.execute_at FROM job_executions je
             WHERE je.state = 'pending' AND je.queue_id IS NULL AND je.job_type = t.job_type AND je.execute_at > @now
             ORDER BY je.execute_at LIMIT 1)
    UNION ALL
    SELECT (SELECT je.execute_at FROM job_executions je
             WHERE je.state = 'pending' AND je.queue_id IS NOT NULL AND je.job_type = t.job_type AND je.execute_at > @now
             ORDER BY je.execute_at LIMIT 1)
) AS n (next_at)
