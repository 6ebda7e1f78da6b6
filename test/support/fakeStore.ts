// An in-memory fake of the record-store activities (src/activities/storeActivities.ts), for the fast
// workflow tests: the same names, shapes and semantics as the PostgreSQL ones (src/store/revisionStore.ts)
// — idempotent upserts keyed by cloud + number, the rollback source as its SQL finds it — over Maps.
import { failure } from '../../src/lib/failures';
import type { ServiceSpec } from '../../src/record/schema';
import type { AuditEntry } from '../../src/store/auditStore';
import type { SnapshotRecord } from '../../src/store/snapshotStore';
import {
  serviceSpecHash,
  type AcceptedRevision,
  type FinishedRevision,
  type StoredRevision,
} from '../../src/store/revisionStore';
import { changeWorkflowId } from '../../src/workflows/ids';
import type { Revision, RevisionOutcome } from '../../src/workflows/types';

export interface FakeCloudRow {
  name: string;
  currentRevision: number | null;
  lastRevision: number;
  activeRevision: number | null;
  lastOutcome: RevisionOutcome | null;
}

export interface FakeStore {
  activities: ReturnType<typeof storeActivities>;
  clouds: Map<string, FakeCloudRow>;
  /** Revisions by cloud, then number. */
  revisions: Map<string, Map<number, StoredRevision>>;
  audit: Map<string, AuditEntry>;
  /** Snapshots by "cloud/service/revision". */
  snapshots: Map<string, SnapshotRecord>;
  /** Every call, in order: activity name and the revision number (or audit key) it was about. */
  calls: Array<{ activity: string; cloud?: string; number?: number; key?: string }>;
  /** A cloud's revisions, oldest first. */
  rows(cloud: string): StoredRevision[];
}

type Outcome = Exclude<RevisionOutcome, 'in-progress'>;

function storeActivities(state: Omit<FakeStore, 'activities' | 'rows'>) {
  const of = (cloud: string): Map<number, StoredRevision> => {
    let m = state.revisions.get(cloud);
    if (!m) state.revisions.set(cloud, (m = new Map()));
    return m;
  };
  const accepted = (r: AcceptedRevision): void => {
    const row = state.clouds.get(r.cloud);
    if (!row) {
      state.clouds.set(r.cloud, {
        name: r.cloud,
        currentRevision: null,
        lastRevision: r.number,
        activeRevision: r.number,
        lastOutcome: null,
      });
    } else {
      if (r.number >= row.lastRevision) row.activeRevision = r.number;
      row.lastRevision = Math.max(row.lastRevision, r.number);
    }
    const revisions = of(r.cloud);
    if (revisions.has(r.number)) return; // ON CONFLICT DO NOTHING
    revisions.set(r.number, {
      cloud: r.cloud,
      number: r.number,
      kind: r.kind,
      record: structuredClone(r.record),
      author: r.author,
      message: r.message,
      workflowId: r.workflowId,
      createdAt: r.createdAt,
      outcome: 'in-progress',
      ...(r.rollbackOf ? { rollbackOf: { ...r.rollbackOf } } : {}),
    });
  };
  const finished = (f: FinishedRevision): void => {
    const row = of(f.cloud).get(f.number);
    if (row) {
      row.outcome = f.outcome;
      if (f.reason !== undefined) row.reason = f.reason;
      else delete row.reason;
      // Compensation data is runtime detail, not history.
      row.services = f.services.map((s) => ({ ...structuredClone(s), steps: [] }));
      row.finishedAt = f.finishedAt;
      if (f.unreachableHosts?.length) row.unreachableHosts = [...f.unreachableHosts];
      else delete row.unreachableHosts;
    }
    const cloud = state.clouds.get(f.cloud);
    if (cloud) {
      if (f.outcome === 'applied' && f.number >= (cloud.currentRevision ?? 0))
        cloud.currentRevision = f.number;
      if (cloud.activeRevision === f.number) cloud.activeRevision = null;
      if (f.number >= cloud.lastRevision) cloud.lastOutcome = f.outcome;
    }
  };
  return {
    async storeRevisionAccepted(revision: AcceptedRevision): Promise<void> {
      state.calls.push({ activity: 'storeRevisionAccepted', cloud: revision.cloud, number: revision.number });
      accepted(revision);
    },

    async storeRevisionFinished(f: FinishedRevision): Promise<void> {
      state.calls.push({ activity: 'storeRevisionFinished', cloud: f.cloud, number: f.number });
      finished(f);
    },

    async storeImportRevisions(input: {
      cloud: string;
      revisions: Revision[];
    }): Promise<{ imported: number }> {
      state.calls.push({ activity: 'storeImportRevisions', cloud: input.cloud });
      let imported = 0;
      for (const r of input.revisions) {
        if (of(input.cloud).has(r.number)) continue;
        accepted({
          cloud: input.cloud,
          number: r.number,
          kind: r.rollbackOf ? 'rollback' : 'apply',
          record: r.record,
          author: r.author,
          message: r.message,
          workflowId: changeWorkflowId(input.cloud, r.number),
          createdAt: r.createdAt,
          rollbackOf: r.rollbackOf,
        });
        if (r.outcome !== 'in-progress') {
          finished({
            cloud: input.cloud,
            number: r.number,
            outcome: r.outcome as Outcome,
            reason: r.reason,
            services: r.services ?? [],
            finishedAt: r.finishedAt ?? r.createdAt,
          });
        }
        imported++;
      }
      return { imported };
    },

    async storeRollbackSource(input: {
      cloud: string;
      service: string;
      current: number;
      currentSpec: ServiceSpec;
      toRevision?: number;
    }): Promise<{ number: number; spec: ServiceSpec }> {
      state.calls.push({ activity: 'storeRollbackSource', cloud: input.cloud, number: input.toRevision });
      const fail = (type: 'NOT_FOUND' | 'INVALID_INPUT', message: string): never => {
        throw failure(type, message);
      };
      const revisions = of(input.cloud);
      let source: StoredRevision | undefined;
      if (input.toRevision !== undefined) {
        source = revisions.get(input.toRevision);
        if (!source) return fail('NOT_FOUND', `cloud ${input.cloud} has no revision ${input.toRevision}`);
        if (source.outcome !== 'applied')
          fail(
            'INVALID_INPUT',
            `revision ${input.toRevision} never applied (${source.outcome}); choose an applied revision`,
          );
      } else {
        const currentHash = serviceSpecHash(input.currentSpec);
        source = [...revisions.values()]
          .sort((a, b) => b.number - a.number)
          .find((r) => {
            const spec = r.record.spec.services.find((s) => s.name === input.service);
            // The SQL joins revision_services: a revision without the service is no candidate.
            return (
              r.number < input.current &&
              r.outcome === 'applied' &&
              spec &&
              serviceSpecHash(spec) !== currentHash
            );
          });
        if (!source)
          return fail(
            'NOT_FOUND',
            `no earlier applied revision has a different spec for service ${input.service}`,
          );
      }
      const spec = source.record.spec.services.find((s) => s.name === input.service);
      if (!spec) return fail('NOT_FOUND', `service ${input.service} is not in revision ${source.number}`);
      return { number: source.number, spec: structuredClone(spec) };
    },

    async storeAudit(entry: AuditEntry): Promise<void> {
      state.calls.push({ activity: 'storeAudit', key: entry.key });
      if (!state.audit.has(entry.key)) state.audit.set(entry.key, structuredClone(entry));
    },

    // Snapshots as src/store/snapshotStore.ts keeps them: keyed by cloud, service and revision.
    async storeSnapshotsBeyondRetention(input: {
      cloud: string;
      service: string;
      revision: number;
      keep: number;
    }) {
      state.calls.push({
        activity: 'storeSnapshotsBeyondRetention',
        cloud: input.cloud,
        number: input.revision,
      });
      return [...state.snapshots.values()]
        .filter(
          (s) =>
            s.cloud === input.cloud &&
            s.service === input.service &&
            s.revision !== input.revision &&
            !s.prunedAt,
        )
        .sort((a, b) => b.revision - a.revision)
        .slice(Math.max(input.keep - 1, 0))
        .map(({ revision, host, path }) => ({ revision, host, path }));
    },
    async storeSnapshotTaken(input: { snapshot: SnapshotRecord; pruned: number[] }): Promise<void> {
      const s = input.snapshot;
      state.calls.push({ activity: 'storeSnapshotTaken', cloud: s.cloud, number: s.revision });
      state.snapshots.set(`${s.cloud}/${s.service}/${s.revision}`, structuredClone(s));
      for (const r of input.pruned) {
        const old = state.snapshots.get(`${s.cloud}/${s.service}/${r}`);
        if (old) old.prunedAt ??= s.takenAt;
      }
    },
    async storeSnapshot(input: { cloud: string; service: string; revision: number }) {
      state.calls.push({ activity: 'storeSnapshot', cloud: input.cloud, number: input.revision });
      const s = state.snapshots.get(`${input.cloud}/${input.service}/${input.revision}`);
      return s ? structuredClone(s) : null;
    },
    async storeSnapshotRestored(input: { cloud: string; service: string; revision: number; at: string }) {
      state.calls.push({ activity: 'storeSnapshotRestored', cloud: input.cloud, number: input.revision });
      const s = state.snapshots.get(`${input.cloud}/${input.service}/${input.revision}`);
      if (s) s.lastRestoredAt = input.at;
    },
  };
}

export function createFakeStore(): FakeStore {
  const state = {
    clouds: new Map<string, FakeCloudRow>(),
    revisions: new Map<string, Map<number, StoredRevision>>(),
    audit: new Map<string, AuditEntry>(),
    snapshots: new Map<string, SnapshotRecord>(),
    calls: [] as FakeStore['calls'],
  };
  return {
    ...state,
    activities: storeActivities(state),
    rows: (cloud) => [...(state.revisions.get(cloud)?.values() ?? [])].sort((a, b) => a.number - b.number),
  };
}
