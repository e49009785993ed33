-- Retry now (job_admin_retry, migration 0008): one row per id with its outcome.
SELECT id, outcome, state FROM {schema}.job_admin_retry(@ids, @reason, @actor, @now)
