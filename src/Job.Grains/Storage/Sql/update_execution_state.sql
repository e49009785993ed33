-- Saves a running job's checkpoint; fenced, so a stale runner cannot overwrite a newer one.
UPDATE {schema}.job_executions SET execution_state = @state
WHERE id = @id AND claim_token = @token AND state = 'running'
