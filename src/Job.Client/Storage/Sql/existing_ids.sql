SELECT id FROM {schema}.jobs WHERE id = ANY(@ids) LIMIT 1
