-- Cancels a job (see job_cancel in migration 0006): 1 cancelled, 2 a running job asked to stop, 0 finished or unknown.
SELECT {schema}.job_cancel(@id, @reason, @now)
