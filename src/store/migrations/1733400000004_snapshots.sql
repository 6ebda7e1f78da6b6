-- Version 4: database snapshots taken before a migration's expand (issue 17). One row per snapshot:
-- where the dump lies (host and path), what it must hash to, and what it held; a restore and the
-- retention that deleted the file are recorded on the row, which stays (the audit of what was kept).
-- A rollback that restores names the revision whose snapshot it loads.

-- Up Migration
CREATE TABLE snapshots (
  cloud            text NOT NULL,
  service          text NOT NULL,
  -- The revision whose expand the snapshot preceded: it holds the schema of the revision before.
  revision         integer NOT NULL,
  database_service text NOT NULL,
  database_name    text NOT NULL,
  host             text NOT NULL,
  path             text NOT NULL,
  sha256           text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  size_bytes       bigint NOT NULL CHECK (size_bytes >= 0),
  duration_ms      integer NOT NULL,
  taken_at         timestamptz NOT NULL,
  -- Per table, the rows when the snapshot was taken ({"table": rows}), when the record says how to count.
  row_counts       jsonb,
  pruned_at        timestamptz,
  last_restored_at timestamptz,
  PRIMARY KEY (cloud, service, revision)
);
CREATE INDEX snapshots_kept ON snapshots (cloud, service, revision DESC) WHERE pruned_at IS NULL;
ALTER TABLE revisions ADD COLUMN rollback_restore_from integer;

-- Down Migration
ALTER TABLE revisions DROP COLUMN rollback_restore_from;
DROP TABLE snapshots;
