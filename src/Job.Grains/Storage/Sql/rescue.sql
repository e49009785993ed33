-- Puts the running jobs of a dead silo (or of every silo membership lists as dead, or with a stale
-- heartbeat) back to pending, attempt counted (see job_rescue in migration 0006).
SELECT id, job_type, claimed_by FROM {schema}.job_rescue(@silo, @cluster, @lost_after, @event_type, @reason, @now)
