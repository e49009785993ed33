-- Job's tables live in a schema of their own (`job` by default; JobsOptions.Schema), so they never
-- clash with an application's own `jobs` table. Every migration runs with search_path set to that
-- schema only, so on a new database 0001-0003 already created their tables there. A database
-- migrated by an earlier release has them in `public`: move them (data, indexes, the identity
-- sequence of job_events and the Orleans tables with them). The migration runner has moved this
-- history table (job_schema_migrations) before reading it.
DO $$
DECLARE
    target text := current_schema();
    legacy text;
BEGIN
    IF to_regclass(format('%I.jobs', target)) IS NOT NULL OR target = 'public' THEN
        RETURN; -- created here by 0001, or the schema is public itself: nothing to move
    END IF;

    FOREACH legacy IN ARRAY ARRAY['jobs', 'job_executions', 'job_events', 'orleansquery',
                                  'orleans_membership_version', 'orleans_membership', 'orleans_reminders', 'orleans_storage']
    LOOP
        IF to_regclass(format('public.%I', legacy)) IS NOT NULL THEN
            EXECUTE format('ALTER TABLE public.%I SET SCHEMA %I', legacy, target);
        END IF;
    END LOOP;

    IF to_regclass('public.job_claim_tokens') IS NOT NULL THEN
        EXECUTE format('ALTER SEQUENCE public.job_claim_tokens SET SCHEMA %I', target);
    END IF;
END $$;
