-- A type's scheduler saw jobs of the type fall due: wake that type's pollers on every silo. The
-- payload is "<type> <due-up-to, Unix microseconds>"; a poller whose clock still reads earlier waits until it too
-- reads that time, so clock skew between hosts cannot make it claim too early and find nothing.
SELECT pg_notify('job_execution', @payload)
