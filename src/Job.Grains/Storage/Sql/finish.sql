-- Writes the outcomes of a batch of runs, each fenced by its claim (see job_finish in migrations 0006
-- and 0012); returns the (id, claim_token) of each outcome that was applied.
SELECT id, claim_token FROM {schema}.job_finish(@ids, @tokens, @kinds, @attempts, @next_attempts, @at, @resets, @messages, @error_types, @error_details, @now)
