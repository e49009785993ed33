SELECT id FROM jobs WHERE id = ANY(@ids) LIMIT 1
