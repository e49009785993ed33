-- The type of a job, for the record of a single-job operation.
SELECT job_type FROM {schema}.jobs WHERE id = @id
