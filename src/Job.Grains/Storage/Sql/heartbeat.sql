-- Refreshes the heartbeat of the claims this silo holds (not of every row it owns, the crate's
-- zombie bug), on database time.
UPDATE {schema}.job_executions je SET alive_at = now()
FROM unnest(@ids::uuid[], @tokens::bigint[]) AS t (id, token)
WHERE je.id = t.id AND je.claim_token = t.token AND je.state = 'running'
