-- Activates (or parks) a serial queue's jobs for its limit now (job_queue_rebalance, migration 0006).
SELECT {schema}.job_queue_rebalance(ARRAY[@queue]::varchar[], @now)
