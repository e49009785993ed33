-- The scheduler: scheduled jobs that fell due become pending (see job_promote in migration 0006).
SELECT promoted, next_due FROM {schema}.job_promote(@now, @limit)
