-- A silo's turn to write its Orleans membership status (see MembershipTurns): the cluster's advisory
-- lock, held by this transaction until the status is written. The wait is cut at @wait_ms; a holder
-- that goes silent in its turn (its host lost, its connection left open) is cut off after @silent_ms.
SELECT set_config('lock_timeout', @wait_ms, true), set_config('idle_in_transaction_session_timeout', @silent_ms, true);
SELECT pg_advisory_xact_lock(hashtextextended(@key, 0));
