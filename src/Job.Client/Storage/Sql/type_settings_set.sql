-- Changes a job type's cluster-wide settings (table job_types, migration 0005) in one statement: a
-- field whose @set_… flag is false keeps its value (or its default, for a type without a row). A new
-- rate limit starts with a full bucket. Every silo hears the type on job_settings and claims again.
WITH changed AS (
    INSERT INTO {schema}.job_types AS t (job_type, paused, max_running, rate_limit, rate_period, updated_at, updated_by)
    VALUES (@type,
            CASE WHEN @set_paused THEN @paused ELSE false END,
            CASE WHEN @set_max_running THEN @max_running END,
            CASE WHEN @set_rate THEN @rate_limit END,
            CASE WHEN @set_rate THEN @rate_period END,
            now(), @by)
    ON CONFLICT (job_type) DO UPDATE SET
        paused = CASE WHEN @set_paused THEN @paused ELSE t.paused END,
        max_running = CASE WHEN @set_max_running THEN @max_running ELSE t.max_running END,
        rate_limit = CASE WHEN @set_rate THEN @rate_limit ELSE t.rate_limit END,
        rate_period = CASE WHEN @set_rate THEN @rate_period ELSE t.rate_period END,
        rate_tokens = CASE WHEN @set_rate THEN NULL ELSE t.rate_tokens END,
        rate_refilled_at = CASE WHEN @set_rate THEN NULL ELSE t.rate_refilled_at END,
        updated_at = now(),
        updated_by = @by
    RETURNING t.job_type, t.paused, t.max_running, t.rate_limit, t.rate_period, t.updated_at, t.updated_by
)
SELECT c.job_type, c.paused, c.max_running, c.rate_limit, c.rate_period, c.updated_at, c.updated_by
FROM changed c CROSS JOIN LATERAL (SELECT pg_notify('job_settings', c.job_type)) AS woken
