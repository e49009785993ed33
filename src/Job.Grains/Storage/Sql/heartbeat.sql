-- Refreshes the heartbeat of the claims this silo holds (not of every row it owns, the crate's
-- zombie bug), on database time, and returns those an operator asked to cancel: their job_cancel
-- notification may have been lost (sent before this silo listened, or while it reconnected).
UPDATE {schema}.job_executions je SET alive_at = now()
FROM unnest(@ids::uuid[], @tokens::bigint[]) AS t (id, token)
WHERE je.id = t.id AND je.claim_token = t.token AND je.state = 'running'
RETURNING je.id, je.cancel_requested_at IS NOT NULL
