-- The hashes of the limits declared in code for these types, as last applied.
SELECT job_type, hash FROM {schema}.job_type_declarations WHERE job_type = ANY (@types)
