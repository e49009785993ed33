-- A serial queue's limit; no row: one at a time.
SELECT max_running FROM {schema}.job_queues WHERE queue_id = @queue
