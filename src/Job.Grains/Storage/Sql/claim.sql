-- Claims pending jobs of the given types for one silo (see job_claim in migration 0006).
SELECT * FROM {schema}.job_claim(@types, @quotas, @oldest, @limit, @silo, @cluster, @address, @port, @generation, @now)
