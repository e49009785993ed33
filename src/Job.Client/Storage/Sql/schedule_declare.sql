-- Applies a schedule's declaration in code (see job_schedule_declare in migration 0007).
SELECT {schema}.job_schedule_declare(@name, @job_type, @cron, @time_zone, @config, @priority, @misfire, @misfire_limit,
                                     @misfire_threshold, @overlap, @declared, @hash, @next_tick)
