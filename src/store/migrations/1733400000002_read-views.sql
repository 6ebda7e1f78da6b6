-- Version 2: stable read views for other systems (documented in the README). Tables may change
-- shape between versions; these views keep their columns.

-- Up Migration
CREATE VIEW patchbay_revisions AS
  SELECT cloud, number, kind, author, message, created_at, finished_at, outcome, reason,
         rollback_service, rollback_to, workflow_id
    FROM revisions;

-- What every managed cloud runs now, one row per service of its current revision.
CREATE VIEW patchbay_inventory AS
  SELECT c.name AS cloud, c.labels, c.current_revision, c.active_revision, c.last_outcome,
         s.service, s.image
    FROM clouds c
    LEFT JOIN revision_services s ON s.cloud = c.name AND s.number = c.current_revision;

CREATE VIEW patchbay_campaign_outcomes AS
  SELECT k.campaign, k.cloud, k.position, k.wave, k.status, k.revision, k.from_revision, k.reason,
         k.attempts, k.revert_revision, k.revert_error, k.updated_at, c.service, c.image
    FROM campaign_clouds k JOIN campaigns c ON c.name = k.campaign;

-- Down Migration
DROP VIEW patchbay_campaign_outcomes;
DROP VIEW patchbay_inventory;
DROP VIEW patchbay_revisions;
