-- How many jobs of a serial queue may run at once (table job_queues, migration 0005).
INSERT INTO {schema}.job_queues (queue_id, max_running, updated_at) VALUES (@queue, @max_running, now())
ON CONFLICT (queue_id) DO UPDATE SET max_running = EXCLUDED.max_running, updated_at = now()
