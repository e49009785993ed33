-- Fires the planned ticks of one schedule (see job_schedule_fire in migration 0007).
SELECT r_tick, r_job_id, r_outcome
FROM {schema}.job_schedule_fire(@name, @version, @ticks, @ids, @next_tick, @trace_parent, @now)
