-- Version 3: a revision that preflight refused only because hosts of the cloud did not answer (their
-- agents' task queues had no worker) says which, so a campaign can retry or skip that cloud instead
-- of counting it as failed. NULL for every other revision (and for all written before this version).

-- Up Migration
ALTER TABLE revisions ADD COLUMN unreachable_hosts text[];

-- Down Migration
ALTER TABLE revisions DROP COLUMN unreachable_hosts;
