-- Silos of another Orleans cluster that are alive on this database (Active, and their I-am-alive
-- written recently): a silo of a different cluster id must not share the job tables with them.
SELECT deployment_id, address || ':' || port, extract(epoch FROM now() - i_am_alive_time)::integer
FROM {schema}.orleans_membership
WHERE deployment_id <> @cluster AND status = 3 AND i_am_alive_time > now() - @alive_within
ORDER BY i_am_alive_time DESC
LIMIT 1
