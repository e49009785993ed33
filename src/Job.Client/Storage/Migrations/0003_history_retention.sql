-- History retention: finished jobs of a type in the order they finished, so the type's janitor
-- deletes the oldest ones with an index range scan instead of reading the whole jobs table.
-- Unfinished jobs are not in this index.
CREATE INDEX jobs_finished ON jobs (job_type, finished_at) WHERE terminal_state IS NOT NULL;
