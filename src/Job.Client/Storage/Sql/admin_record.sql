-- Records one admin operation (table job_admin_actions, migration 0008), in the operation's transaction.
INSERT INTO {schema}.job_admin_actions (action, job_id, job_type, detail, changed, actor, recorded_at)
VALUES (@action, @job_id, @job_type, @detail, @changed, @actor, @now)
