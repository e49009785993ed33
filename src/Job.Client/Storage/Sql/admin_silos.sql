-- Orleans membership (every cluster on this database) with the jobs each silo runs; claims record a
-- silo as address:port@generation (index job_executions_running).
SELECT m.deployment_id, m.address || ':' || m.port || '@' || m.generation, m.silo_name, m.host_name, m.status,
       m.start_time, m.i_am_alive_time, coalesce(r.running, 0)
FROM {schema}.orleans_membership m
LEFT JOIN (SELECT claimed_by, count(*)::bigint AS running FROM {schema}.job_executions WHERE state = 'running' GROUP BY claimed_by) r
    ON r.claimed_by = m.address || ':' || m.port || '@' || m.generation
ORDER BY m.deployment_id, m.status = 6, m.start_time DESC
