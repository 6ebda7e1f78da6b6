// Activities that write and read the record store. Every write is an idempotent upsert, so Temporal
// may retry them freely (they retry until the database is back: a stopped PostgreSQL delays a change,
// it never loses a row).
import type { Client } from '@temporalio/client';
import { failure } from '../lib/failures';
import type { ServiceSpec } from '../record/schema';
import { AuditStore, type AuditEntry } from '../store/auditStore';
import type { Db } from '../store/db';
import { RevisionStore, type AcceptedRevision, type FinishedRevision } from '../store/revisionStore';
import { SnapshotStore, type SnapshotRecord } from '../store/snapshotStore';
import { changeWorkflowId } from '../workflows/ids';
import type { ChangeResult, Revision } from '../workflows/types';

export interface StoreActivityDeps {
  /** The record store (opened lazily, once per worker). */
  db: () => Db;
  /** A Temporal client: a cloud asks how a change it did not start ended. */
  temporal: () => Client;
}

export function createStoreActivities(deps: StoreActivityDeps) {
  const revisions = () => new RevisionStore(deps.db());
  const snapshots = () => new SnapshotStore(deps.db());
  return {
    async storeRevisionAccepted(revision: AcceptedRevision): Promise<void> {
      await revisions().accepted(revision);
    },

    async storeRevisionFinished(finished: FinishedRevision): Promise<void> {
      await revisions().finished(finished);
    },

    /** One chunk of a cloud's in-workflow history, moved into the store (upgrade from state-held history). */
    async storeImportRevisions(input: {
      cloud: string;
      revisions: Revision[];
    }): Promise<{ imported: number }> {
      const imported = await revisions().import(input.cloud, input.revisions, (n) =>
        changeWorkflowId(input.cloud, n),
      );
      return { imported };
    },

    /** The spec a rollback takes one service back to; a business failure when there is none. */
    async storeRollbackSource(input: {
      cloud: string;
      service: string;
      current: number;
      currentSpec: ServiceSpec;
      toRevision?: number;
      restoreDatabase?: boolean;
    }): Promise<{ number: number; spec: ServiceSpec; restoreFrom?: number }> {
      const found = await revisions().rollbackSource(input.cloud, input.service, input);
      if ('error' in found) throw failure(found.error, found.message);
      return found;
    },

    /**
     * How a change workflow ended, or null while it runs: for a change handed over by continue-as-new
     * that ended without reporting (it was terminated by hand, say).
     */
    async changeOutcome(input: {
      workflowId: string;
    }): Promise<Pick<ChangeResult, 'outcome' | 'reason' | 'services'> | null> {
      const handle = deps.temporal().workflow.getHandle(input.workflowId);
      const { status } = await handle.describe();
      if (status.name === 'RUNNING') return null;
      if (status.name === 'COMPLETED') {
        const result = (await handle.result()) as ChangeResult;
        return { outcome: result.outcome, reason: result.reason, services: result.services };
      }
      return {
        outcome: 'failed',
        reason: `change workflow ${input.workflowId} ended ${status.name}`,
        services: [],
      };
    },

    async storeAudit(entry: AuditEntry): Promise<void> {
      await new AuditStore(deps.db()).record(entry);
    },

    /** The kept snapshots a new one of `revision` pushes beyond the record's `keep`. */
    async storeSnapshotsBeyondRetention(input: {
      cloud: string;
      service: string;
      revision: number;
      keep: number;
    }): Promise<Array<Pick<SnapshotRecord, 'revision' | 'host' | 'path'>>> {
      const old = await snapshots().beyondRetention(input.cloud, input.service, input.revision, input.keep);
      return old.map(({ revision, host, path }) => ({ revision, host, path }));
    },

    /** A snapshot taken, and the older ones whose files its job deleted. */
    async storeSnapshotTaken(input: { snapshot: SnapshotRecord; pruned: number[] }): Promise<void> {
      const s = input.snapshot;
      await snapshots().taken(s);
      await snapshots().pruned(s.cloud, s.service, input.pruned, s.takenAt);
    },

    async storeSnapshot(input: {
      cloud: string;
      service: string;
      revision: number;
    }): Promise<SnapshotRecord | null> {
      return snapshots().get(input.cloud, input.service, input.revision);
    },

    async storeSnapshotRestored(input: {
      cloud: string;
      service: string;
      revision: number;
      at: string;
    }): Promise<void> {
      await snapshots().restored(input.cloud, input.service, input.revision, input.at);
    },
  };
}
