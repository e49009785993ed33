-- Deletes up to @batch tick records handled before @before (kept as long as the job history).
DELETE FROM {schema}.job_schedule_ticks
WHERE ctid = ANY (ARRAY(SELECT ctid FROM {schema}.job_schedule_ticks WHERE recorded_at < @before LIMIT @batch))
