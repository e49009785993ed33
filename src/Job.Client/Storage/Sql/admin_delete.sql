-- Delete finished jobs with their history (job_admin_delete, migration 0008).
SELECT id, outcome, state FROM {schema}.job_admin_delete(@ids)
