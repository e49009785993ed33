-- A serial queue back to one job at a time.
DELETE FROM {schema}.job_queues WHERE queue_id = @queue
