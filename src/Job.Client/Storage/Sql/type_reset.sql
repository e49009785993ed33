-- Puts a job type's limits back to those declared in code (none when nothing is declared); a pause
-- stays. A rate bucket starts full only when the rate changes. Every silo hears it on job_settings.
WITH declared AS (
    SELECT @type::varchar AS job_type, d.max_running, d.rate_limit, d.rate_period
    FROM (SELECT 1) AS one LEFT JOIN {schema}.job_type_declarations d ON d.job_type = @type
), changed AS (
    INSERT INTO {schema}.job_types AS t (job_type, max_running, rate_limit, rate_period, updated_at, updated_by)
    SELECT job_type, max_running, rate_limit, rate_period, now(), @by FROM declared
    ON CONFLICT (job_type) DO UPDATE SET
        max_running = EXCLUDED.max_running,
        rate_limit = EXCLUDED.rate_limit,
        rate_period = EXCLUDED.rate_period,
        rate_tokens = CASE WHEN t.rate_limit IS NOT DISTINCT FROM EXCLUDED.rate_limit AND t.rate_period IS NOT DISTINCT FROM EXCLUDED.rate_period
                           THEN t.rate_tokens END,
        rate_refilled_at = CASE WHEN t.rate_limit IS NOT DISTINCT FROM EXCLUDED.rate_limit AND t.rate_period IS NOT DISTINCT FROM EXCLUDED.rate_period
                                THEN t.rate_refilled_at END,
        updated_at = now(),
        updated_by = EXCLUDED.updated_by
    RETURNING t.job_type, t.paused, t.max_running, t.rate_limit, t.rate_period, t.updated_at, t.updated_by
)
SELECT c.job_type, c.paused, c.max_running, c.rate_limit, c.rate_period, c.updated_at, c.updated_by
FROM changed c CROSS JOIN LATERAL (SELECT pg_notify('job_settings', c.job_type)) AS woken
