-- The tables and named queries behind the Orleans AdoNet providers (clustering, reminders,
-- grain storage). The Orleans packages ship no SQL: each provider loads its queries from
-- OrleansQuery at start and refuses to start if one is missing, so the contract lives here.
--
-- Contract notes (Orleans 10.4.2, Invariant "Npgsql"):
-- * Parameters are bound by name (@Name) with the DbType of their CLR type: every DateTime as
--   DbType.DateTime (Npgsql: timestamptz, UTC), hashes as int, Period as int or bigint.
-- * Results are read by column name, so every result column is aliased to the exact name the
--   provider reads ("Version", "StartTime", ...); the tables themselves stay snake_case.
-- * Queries the providers read with First() must always return exactly one row.

-- The providers run "SELECT QueryKey, QueryText FROM OrleansQuery" unquoted, so these names
-- must stay unquoted (Postgres folds them to lower case; Npgsql matches the column names
-- case-insensitively).
CREATE TABLE OrleansQuery (
    QueryKey  varchar(64) PRIMARY KEY,
    QueryText text NOT NULL
);

-- Clustering ---------------------------------------------------------------------------------

-- One row per cluster (DeploymentId = ClusterId). Its version is the membership table's
-- optimistic-concurrency token: every insert or status change of a member must present the
-- version it read and bumps it, so concurrent writers see each other's changes.
CREATE TABLE orleans_membership_version (
    deployment_id varchar(150) PRIMARY KEY,
    version       integer NOT NULL DEFAULT 0,
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- One row per silo incarnation (address, port, generation). Rows of dead silos stay until
-- Orleans' defunct-entry cleanup removes them (7 days by default).
CREATE TABLE orleans_membership (
    deployment_id   varchar(150) NOT NULL REFERENCES orleans_membership_version (deployment_id) ON DELETE CASCADE,
    address         varchar(45) NOT NULL,
    port            integer NOT NULL,
    generation      integer NOT NULL,
    silo_name       varchar(150) NOT NULL,
    host_name       varchar(150) NOT NULL,
    status          integer NOT NULL,
    proxy_port      integer,
    -- "silo,time|silo,time" as Orleans formats it; compared verbatim by the per-row cleanup
    suspect_times   text,
    start_time      timestamptz NOT NULL,
    i_am_alive_time timestamptz NOT NULL,
    PRIMARY KEY (deployment_id, address, port, generation)
);

-- Reminders ----------------------------------------------------------------------------------

-- grain_hash is the grain's uniform hash stored as a signed int: the provider picks the range
-- query by comparing the bounds in signed order, so the column must compare the same way.
CREATE TABLE orleans_reminders (
    service_id    varchar(150) NOT NULL,
    -- GrainId.ToString(): "type/key", so room for long string keys
    grain_id      varchar(512) NOT NULL,
    reminder_name varchar(150) NOT NULL,
    start_time    timestamptz NOT NULL,
    -- milliseconds; bigint because periods past ~24 days arrive as a bigint parameter
    period        bigint NOT NULL,
    grain_hash    integer NOT NULL,
    -- the reminder's ETag: a delete must present the version it read
    version       integer NOT NULL,
    PRIMARY KEY (service_id, grain_id, reminder_name)
);

-- Each silo reads the reminders of its ring range by hash.
CREATE INDEX orleans_reminders_range ON orleans_reminders (service_id, grain_hash);

-- Grain storage ------------------------------------------------------------------------------

-- The provider identifies a state by service, state name (its "grain type" parameter) and the
-- grain key split into two bigints plus a string part; the grain class itself is not in the
-- key. The two int hashes narrow the lookup. version is the state's ETag; a cleared state
-- keeps its row (payload NULL) so the version keeps increasing across clear and rewrite.
CREATE TABLE orleans_storage (
    grain_id_hash       integer NOT NULL,
    grain_type_hash     integer NOT NULL,
    service_id          varchar(150) NOT NULL,
    grain_type          varchar(512) NOT NULL,
    grain_id_n0         bigint NOT NULL,
    grain_id_n1         bigint NOT NULL,
    -- the string key, or the key extension of an integer/Guid key; NULL when there is none
    grain_id_extension  varchar(512),
    payload             bytea,
    version             integer NOT NULL,
    modified_on         timestamptz NOT NULL DEFAULT now(),
    -- NULLS NOT DISTINCT (PostgreSQL 15+): "no extension" is one key, so a second first
    -- write of the same state conflicts instead of adding a duplicate row.
    CONSTRAINT orleans_storage_key UNIQUE NULLS NOT DISTINCT
        (grain_id_hash, grain_type_hash, service_id, grain_id_n0, grain_id_n1, grain_type, grain_id_extension)
);

-- The named queries --------------------------------------------------------------------------

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES

-- Clustering: run at every silo start; true only for the silo that created the version row.
('InsertMembershipVersionKey', $q$
WITH created AS (
    INSERT INTO orleans_membership_version (deployment_id, version, updated_at)
    VALUES (@DeploymentId, 0, now())
    ON CONFLICT (deployment_id) DO NOTHING
    RETURNING 1)
SELECT EXISTS (SELECT 1 FROM created)
$q$),

-- One row per member joined to the version row; a cluster without members still returns the
-- version (with NULL member columns, which Orleans recognises by the NULL StartTime).
('MembershipReadAllKey', $q$
SELECT v.version          AS "Version",
       m.address          AS "Address",
       m.port             AS "Port",
       m.generation       AS "Generation",
       m.silo_name        AS "SiloName",
       m.host_name        AS "HostName",
       m.status           AS "Status",
       m.proxy_port       AS "ProxyPort",
       m.suspect_times    AS "SuspectTimes",
       m.start_time       AS "StartTime",
       m.i_am_alive_time  AS "IAmAliveTime"
FROM orleans_membership_version v
LEFT JOIN orleans_membership m ON m.deployment_id = v.deployment_id
WHERE v.deployment_id = @DeploymentId
$q$),

('MembershipReadRowKey', $q$
SELECT v.version          AS "Version",
       m.address          AS "Address",
       m.port             AS "Port",
       m.generation       AS "Generation",
       m.silo_name        AS "SiloName",
       m.host_name        AS "HostName",
       m.status           AS "Status",
       m.proxy_port       AS "ProxyPort",
       m.suspect_times    AS "SuspectTimes",
       m.start_time       AS "StartTime",
       m.i_am_alive_time  AS "IAmAliveTime"
FROM orleans_membership_version v
LEFT JOIN orleans_membership m
       ON m.deployment_id = v.deployment_id
      AND m.address = @Address AND m.port = @Port AND m.generation = @Generation
WHERE v.deployment_id = @DeploymentId
$q$),

-- The version bump is the guard: it only happens for the version the caller read (the row
-- lock serializes concurrent writers, the loser re-checks and finds a new version), and the
-- member is inserted only if the bump happened.
('InsertMembershipKey', $q$
WITH bumped AS (
    UPDATE orleans_membership_version
    SET version = version + 1, updated_at = now()
    WHERE deployment_id = @DeploymentId AND version = @Version
      AND NOT EXISTS (SELECT 1 FROM orleans_membership
                      WHERE deployment_id = @DeploymentId
                        AND address = @Address AND port = @Port AND generation = @Generation)
    RETURNING deployment_id),
inserted AS (
    INSERT INTO orleans_membership (deployment_id, address, port, generation, silo_name, host_name,
                                    status, proxy_port, start_time, i_am_alive_time)
    SELECT deployment_id, @Address, @Port, @Generation, @SiloName, @HostName,
           @Status, @ProxyPort, @StartTime, @IAmAliveTime
    FROM bumped
    ON CONFLICT DO NOTHING
    RETURNING 1)
SELECT EXISTS (SELECT 1 FROM inserted)
$q$),

('UpdateMembershipKey', $q$
WITH bumped AS (
    UPDATE orleans_membership_version
    SET version = version + 1, updated_at = now()
    WHERE deployment_id = @DeploymentId AND version = @Version
      AND EXISTS (SELECT 1 FROM orleans_membership
                  WHERE deployment_id = @DeploymentId
                    AND address = @Address AND port = @Port AND generation = @Generation)
    RETURNING deployment_id),
updated AS (
    UPDATE orleans_membership m
    SET status = @Status, suspect_times = @SuspectTimes, i_am_alive_time = @IAmAliveTime
    FROM bumped
    WHERE m.deployment_id = bumped.deployment_id
      AND m.address = @Address AND m.port = @Port AND m.generation = @Generation
    RETURNING 1)
SELECT EXISTS (SELECT 1 FROM updated)
$q$),

-- The heartbeat is not a membership change: it must not bump the version.
('UpdateIAmAlivetimeKey', $q$
UPDATE orleans_membership
SET i_am_alive_time = @IAmAliveTime
WHERE deployment_id = @DeploymentId
  AND address = @Address AND port = @Port AND generation = @Generation
$q$),

-- Clients find gateways here; @Status is always Active (3).
('GatewaysQueryKey', $q$
SELECT address AS "Address", proxy_port AS "ProxyPort", generation AS "Generation"
FROM orleans_membership
WHERE deployment_id = @DeploymentId AND status = @Status AND proxy_port > 0
$q$),

-- Members go with their version row (ON DELETE CASCADE).
('DeleteMembershipTableEntriesKey', $q$
DELETE FROM orleans_membership_version WHERE deployment_id = @DeploymentId
$q$),

-- Fallback only: 10.4.2 uses CleanupDefunctSiloEntryKey below when it exists.
('CleanupDefunctSiloEntriesKey', $q$
DELETE FROM orleans_membership
WHERE deployment_id = @DeploymentId AND status = 6 AND i_am_alive_time < @IAmAliveTime
$q$),

-- Orleans picks a dead, stale row in .NET and passes back the values it read; the row is
-- deleted only if none changed meanwhile (a late heartbeat or suspicion keeps it).
('CleanupDefunctSiloEntryKey', $q$
DELETE FROM orleans_membership
WHERE deployment_id = @DeploymentId
  AND address = @Address AND port = @Port AND generation = @Generation
  AND status = 6
  AND start_time = @StartTime
  AND i_am_alive_time = @IAmAliveTime
  AND coalesce(suspect_times, '') = coalesce(@SuspectTimes, '')
$q$),

-- Reminders: the ETag is the row version; every upsert makes a new one.
('UpsertReminderRowKey', $q$
INSERT INTO orleans_reminders AS r (service_id, grain_id, reminder_name, start_time, period, grain_hash, version)
VALUES (@ServiceId, @GrainId, @ReminderName, @StartTime, @Period, @GrainHash, 0)
ON CONFLICT (service_id, grain_id, reminder_name) DO UPDATE
SET start_time = excluded.start_time,
    period     = excluded.period,
    grain_hash = excluded.grain_hash,
    version    = r.version + 1
RETURNING r.version AS "Version"
$q$),

('ReadReminderRowKey', $q$
SELECT grain_id AS "GrainId", reminder_name AS "ReminderName", start_time AS "StartTime",
       period AS "Period", version AS "Version"
FROM orleans_reminders
WHERE service_id = @ServiceId AND grain_id = @GrainId AND reminder_name = @ReminderName
$q$),

('ReadReminderRowsKey', $q$
SELECT grain_id AS "GrainId", reminder_name AS "ReminderName", start_time AS "StartTime",
       period AS "Period", version AS "Version"
FROM orleans_reminders
WHERE service_id = @ServiceId AND grain_id = @GrainId
$q$),

-- The ring range (@BeginHash, @EndHash] when it does not wrap in signed order...
('ReadRangeRows1Key', $q$
SELECT grain_id AS "GrainId", reminder_name AS "ReminderName", start_time AS "StartTime",
       period AS "Period", version AS "Version"
FROM orleans_reminders
WHERE service_id = @ServiceId AND grain_hash > @BeginHash AND grain_hash <= @EndHash
$q$),

-- ...and when it wraps (also the whole ring, begin = end).
('ReadRangeRows2Key', $q$
SELECT grain_id AS "GrainId", reminder_name AS "ReminderName", start_time AS "StartTime",
       period AS "Period", version AS "Version"
FROM orleans_reminders
WHERE service_id = @ServiceId AND (grain_hash > @BeginHash OR grain_hash <= @EndHash)
$q$),

-- Returns false when the ETag is stale, which the provider reports to the caller.
('DeleteReminderRowKey', $q$
WITH deleted AS (
    DELETE FROM orleans_reminders
    WHERE service_id = @ServiceId AND grain_id = @GrainId AND reminder_name = @ReminderName
      AND version = @Version
    RETURNING 1)
SELECT EXISTS (SELECT 1 FROM deleted)
$q$),

('DeleteReminderRowsKey', $q$
DELETE FROM orleans_reminders WHERE service_id = @ServiceId
$q$),

-- Grain storage: no row means "never written" (the provider then uses a new state, ETag null);
-- a NULL payload means "cleared" (the ETag survives).
('ReadFromStorageKey', $q$
SELECT payload AS "PayloadBinary", version AS "Version"
FROM orleans_storage
WHERE grain_id_hash = @GrainIdHash AND grain_type_hash = @GrainTypeHash
  AND service_id = @ServiceId AND grain_type = @GrainTypeString
  AND grain_id_n0 = @GrainIdN0 AND grain_id_n1 = @GrainIdN1
  AND grain_id_extension IS NOT DISTINCT FROM @GrainIdExtensionString
$q$),

-- A NULL @GrainStateVersion means "first write" (insert); otherwise the row must still have
-- that version. Any mismatch returns no row, which the provider turns into an
-- InconsistentStateException.
('WriteToStorageKey', $q$
WITH updated AS (
    UPDATE orleans_storage
    SET payload = @PayloadBinary, version = version + 1, modified_on = now()
    WHERE @GrainStateVersion IS NOT NULL
      AND grain_id_hash = @GrainIdHash AND grain_type_hash = @GrainTypeHash
      AND service_id = @ServiceId AND grain_type = @GrainTypeString
      AND grain_id_n0 = @GrainIdN0 AND grain_id_n1 = @GrainIdN1
      AND grain_id_extension IS NOT DISTINCT FROM @GrainIdExtensionString
      AND version = @GrainStateVersion
    RETURNING version),
inserted AS (
    INSERT INTO orleans_storage (grain_id_hash, grain_type_hash, service_id, grain_type,
                                 grain_id_n0, grain_id_n1, grain_id_extension, payload, version)
    SELECT @GrainIdHash, @GrainTypeHash, @ServiceId, @GrainTypeString,
           @GrainIdN0, @GrainIdN1, @GrainIdExtensionString, @PayloadBinary, 1
    WHERE @GrainStateVersion IS NULL
    ON CONFLICT DO NOTHING
    RETURNING version)
SELECT version AS "NewGrainStateVersion" FROM updated
UNION ALL
SELECT version FROM inserted
$q$),

-- Clear keeps the row and bumps the version, so a stale writer still conflicts afterwards.
('ClearStorageKey', $q$
UPDATE orleans_storage
SET payload = NULL, version = version + 1, modified_on = now()
WHERE grain_id_hash = @GrainIdHash AND grain_type_hash = @GrainTypeHash
  AND service_id = @ServiceId AND grain_type = @GrainTypeString
  AND grain_id_n0 = @GrainIdN0 AND grain_id_n1 = @GrainIdN1
  AND grain_id_extension IS NOT DISTINCT FROM @GrainIdExtensionString
  AND version = @GrainStateVersion
RETURNING version AS "NewGrainStateVersion"
$q$),

-- Used instead of ClearStorageKey when DeleteStateOnClear is set. The provider only needs a
-- value that differs from the ETag it sent, so the next version number is returned.
('DeleteStorageKey', $q$
DELETE FROM orleans_storage
WHERE grain_id_hash = @GrainIdHash AND grain_type_hash = @GrainTypeHash
  AND service_id = @ServiceId AND grain_type = @GrainTypeString
  AND grain_id_n0 = @GrainIdN0 AND grain_id_n1 = @GrainIdN1
  AND grain_id_extension IS NOT DISTINCT FROM @GrainIdExtensionString
  AND version = @GrainStateVersion
RETURNING version + 1 AS "NewGrainStateVersion"
$q$)

ON CONFLICT (QueryKey) DO UPDATE SET QueryText = excluded.QueryText;
