-- Due jobs of a type that nobody has claimed for a while: usually no silo registers the type.
SELECT count(*), min(execute_at)
FROM job_executions
WHERE state = 'pending' AND job_type = @job_type AND execute_at < @before
