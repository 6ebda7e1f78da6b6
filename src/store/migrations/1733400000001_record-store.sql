-- Patchbay's record store, version 1: revisions, fleet inventory, campaigns, operator audit log.
-- Applied by node-pg-migrate at start (src/store/migrate.ts); never edit an applied migration, add one.

-- Up Migration

-- One row per managed cloud: what it runs now and whether a change is running.
CREATE TABLE clouds (
  name             text PRIMARY KEY,
  labels           jsonb NOT NULL DEFAULT '{}'::jsonb,
  current_revision integer,
  last_revision    integer NOT NULL DEFAULT 0,
  active_revision  integer,
  last_outcome     text,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now()
);

-- Every revision of every cloud, kept for good: the normalised record and what happened.
CREATE TABLE revisions (
  cloud            text NOT NULL REFERENCES clouds (name),
  number           integer NOT NULL CHECK (number > 0),
  kind             text NOT NULL CHECK (kind IN ('apply', 'rollback')),
  record           jsonb NOT NULL,
  author           text NOT NULL,
  message          text NOT NULL DEFAULT '',
  workflow_id      text NOT NULL,
  created_at       timestamptz NOT NULL,
  finished_at      timestamptz,
  outcome          text NOT NULL CHECK (outcome IN ('in-progress', 'applied', 'rolled-back', 'failed')),
  reason           text,
  rollback_service text,
  rollback_to      integer,
  -- Per-service and per-instance results (ServiceResult[] without compensation data).
  services         jsonb,
  PRIMARY KEY (cloud, number)
);
CREATE INDEX revisions_outcome ON revisions (cloud, outcome, number DESC);

-- Each revision's services: image and spec hash, so "which revision had another keystone spec"
-- and "which clouds run this image" are index look-ups, not scans of records.
CREATE TABLE revision_services (
  cloud     text NOT NULL,
  number    integer NOT NULL,
  service   text NOT NULL,
  image     text NOT NULL,
  spec_hash text NOT NULL,
  PRIMARY KEY (cloud, number, service),
  FOREIGN KEY (cloud, number) REFERENCES revisions (cloud, number) ON DELETE CASCADE
);
CREATE INDEX revision_services_by_service ON revision_services (service, image);

-- One row per campaign; its per-cloud outcomes below.
CREATE TABLE campaigns (
  name        text PRIMARY KEY,
  service     text NOT NULL,
  image       text NOT NULL,
  spec        jsonb NOT NULL,
  started_by  text NOT NULL,
  started_at  timestamptz NOT NULL,
  workflow_id text NOT NULL,
  phase       text NOT NULL,
  halt_reason text,
  finished_at timestamptz,
  updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Every cloud a campaign covers: its place in the order (null: named but not managed), its wave
-- and its outcome. Written by idempotent upserts keyed by (campaign, cloud).
CREATE TABLE campaign_clouds (
  campaign        text NOT NULL REFERENCES campaigns (name),
  cloud           text NOT NULL,
  position        integer,
  wave            integer,
  status          text NOT NULL,
  revision        integer,
  from_revision   integer,
  reason          text,
  attempts        integer,
  revert_revision integer,
  revert_error    text,
  updated_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (campaign, cloud)
);
CREATE UNIQUE INDEX campaign_clouds_position ON campaign_clouds (campaign, position);
CREATE INDEX campaign_clouds_status ON campaign_clouds (campaign, status);

-- Every operator decision (resolve, approve, pause, resume, abort): who, when, what, why.
-- key makes a retried or replayed write land once (e.g. the workflow id and update id).
CREATE TABLE audit_log (
  id          bigserial PRIMARY KEY,
  key         text NOT NULL UNIQUE,
  at          timestamptz NOT NULL,
  actor       text NOT NULL,
  action      text NOT NULL,
  target_kind text NOT NULL CHECK (target_kind IN ('cloud', 'campaign')),
  target      text NOT NULL,
  reason      text NOT NULL DEFAULT '',
  detail      jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX audit_log_target ON audit_log (target_kind, target, at);

-- Down Migration
DROP TABLE audit_log;
DROP TABLE campaign_clouds;
DROP TABLE campaigns;
DROP TABLE revision_services;
DROP TABLE revisions;
DROP TABLE clouds;
