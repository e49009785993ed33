-- A caller awaits this job: announce its end on the job_terminal channel (only awaited jobs pay for it).
UPDATE {schema}.jobs SET awaited = true WHERE id = @id AND NOT awaited
