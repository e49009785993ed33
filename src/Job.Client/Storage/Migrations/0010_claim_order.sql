-- A claim's jobs in the order they should start. job_claim (0009) returns its rows by due time, and a
-- silo's runners take each type's claims in the order they came. When the dispatcher claims a batch
-- ahead of its runners (short jobs), a batch of mixed priorities then started in due order: a job of
-- priority 9 could wait behind jobs of priority 0 claimed with it. The claim now returns its rows by
-- priority (highest first), then due time, as it chose them; the rows that report a blocked type come
-- last, as before. The claim itself is unchanged (renamed job_claim_batch); the ordering costs one
-- primary-key probe per claimed row, of a row the claim has just updated (a join here let the planner
-- hash the whole of job_executions on every claim: a third of the throughput with 100,000 jobs queued).
ALTER FUNCTION job_claim(varchar[], integer[], integer[], integer, varchar, varchar, varchar, integer, integer, timestamptz)
    RENAME TO job_claim_batch;

CREATE FUNCTION job_claim(p_types varchar[], p_quotas integer[], p_oldest integer[], p_limit integer,
                          p_silo varchar, p_cluster varchar, p_address varchar, p_port integer, p_generation integer,
                          p_now timestamptz)
RETURNS TABLE (id uuid, job_type varchar, queue_id varchar, attempt integer, claim_token bigint,
               execution_state jsonb, retry_failed_at timestamptz, retry_due_at timestamptz, execute_at timestamptz,
               started_at timestamptz, config jsonb, trace_parent varchar, created_at timestamptz, blocked boolean)
LANGUAGE sql SET search_path FROM CURRENT AS $$
    SELECT c.* FROM job_claim_batch(p_types, p_quotas, p_oldest, p_limit, p_silo, p_cluster, p_address, p_port, p_generation, p_now) AS c
    ORDER BY c.blocked,
             (SELECT e.priority FROM job_executions e WHERE e.id = c.id) DESC NULLS LAST, -- a primary-key probe, never a join plan that reads the table
             c.execute_at, c.id
$$;
