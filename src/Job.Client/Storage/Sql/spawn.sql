-- Spawns a batch of jobs of one type (see job_spawn in migration 0006): one round trip, on a pooled
-- connection or inside the caller's transaction. Returns how many jobs were created (0 when a
-- unique spawn found a unique job of the type).
SELECT {schema}.job_spawn(@job_type, @ids, @configs, @execute_ats, @queue_ids, @priorities, @unique, @trace_parent, @now)
