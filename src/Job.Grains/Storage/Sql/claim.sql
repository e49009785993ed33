-- Claims pending jobs of the given types for one silo (see job_claim in migrations 0006, 0009 and 0011).
-- The claim's commit does not wait for its WAL to reach disk (synchronous_commit off, for this
-- transaction only: the two statements run as one implicit transaction). A claim that a database
-- crash loses leaves its job pending, where it is claimed and run again (at least once, as any
-- rescue); the run's outcome commits synchronously, and its flush carries every claim before it.
-- So a job is never lost, and the claim, half of a job's commits, costs no disk flush.
SELECT set_config('synchronous_commit', 'off', true);
SELECT * FROM {schema}.job_claim(@types, @quotas, @oldest, @limit, @silo, @cluster, @address, @port, @generation, @now)
