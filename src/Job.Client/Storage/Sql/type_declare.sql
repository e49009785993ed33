-- Applies a job type's limits declared in code (see job_type_declare in migration 0007).
SELECT {schema}.job_type_declare(@type, @max_running, @rate_limit, @rate_period, @hash)
