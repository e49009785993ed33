-- Orleans membership (every cluster on this database) with the jobs each silo runs; claims record a
-- silo as address:port@generation (index job_executions_running). Suspect times list suspector,time
-- pairs separated by '|': a silo that stopped lists only itself, one its peers declared dead lists them.
SELECT m.deployment_id, m.address || ':' || m.port || '@' || m.generation, m.silo_name, m.host_name, m.status,
       m.start_time, m.i_am_alive_time, coalesce(r.running, 0),
       EXISTS (SELECT 1 FROM unnest(string_to_array(coalesce(m.suspect_times, ''), '|')) AS s (entry)
               WHERE s.entry <> '' AND split_part(s.entry, ',', 1) <> m.address || ':' || m.port || '@' || m.generation)
FROM {schema}.orleans_membership m
LEFT JOIN (SELECT claimed_by, count(*)::bigint AS running FROM {schema}.job_executions WHERE state = 'running' GROUP BY claimed_by) r
    ON r.claimed_by = m.address || ':' || m.port || '@' || m.generation
ORDER BY m.deployment_id, m.status = 6, m.start_time DESC
