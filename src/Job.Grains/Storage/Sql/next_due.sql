-- When a type's scheduler should next wake the pollers: the earliest due time after @now (the
-- time up to which it has already woken them), one index probe per type and kind (a plain min()
-- over "job_type = ANY(...)" would read every future row). Rows due at or before @now are not
-- counted: they were announced, and counting them would spin while they wait for capacity or for
-- their serial queue.
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
