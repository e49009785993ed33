-- Cancel (job_admin_cancel, migration 0008, through job_cancel): one row per id with its outcome.
SELECT id, outcome, state FROM {schema}.job_admin_cancel(@ids, @reason, @actor, @now)
