SELECT seq, event_type, attempt, scheduled_at, error_message, error_type, reason, recorded_at, actor, error_detail
FROM {schema}.job_events WHERE job_id = @id ORDER BY seq
