// Revisions of clouds in the record store: written by idempotent activities (upserts keyed by
// cloud + number, so a retried or replayed write lands once), read by the CLI and other systems.
import type { PoolClient } from 'pg';
import { canonicalJson, fnv1a64 } from '../record/identity';
import type { CloudRecord, ServiceSpec } from '../record/schema';
import type { Revision, RevisionOutcome, ServiceResult } from '../workflows/types';
import type { Db } from './db';
import { SnapshotStore } from './snapshotStore';

export type RevisionKind = 'apply' | 'rollback';

export interface StoredRevision extends Revision {
  cloud: string;
  kind: RevisionKind;
  workflowId: string;
  /** Preflight refused this revision only because these hosts did not answer (ChangeResult's). */
  unreachableHosts?: string[];
}

/** A revision without its record: what `history` lists. */
export type RevisionSummary = Omit<StoredRevision, 'record' | 'services'>;

export interface AcceptedRevision {
  cloud: string;
  number: number;
  kind: RevisionKind;
  record: CloudRecord;
  author: string;
  message: string;
  workflowId: string;
  createdAt: string;
  rollbackOf?: { service: string; toRevision: number; restoreFrom?: number };
}

export interface FinishedRevision {
  cloud: string;
  number: number;
  outcome: Exclude<RevisionOutcome, 'in-progress'>;
  reason?: string;
  services: ServiceResult[];
  /** Preflight refused the revision only because these hosts did not answer (column unreachable_hosts). */
  unreachableHosts?: string[];
  finishedAt: string;
}

export interface CloudRow {
  name: string;
  labels: Record<string, string>;
  currentRevision: number | null;
  lastRevision: number;
  activeRevision: number | null;
  lastOutcome: RevisionOutcome | null;
  updatedAt: string;
}

/** A row of the `clouds` table as PostgreSQL returns it. */
export interface CloudDbRow {
  name: string;
  labels: Record<string, string>;
  current_revision: number | null;
  last_revision: number;
  active_revision: number | null;
  last_outcome: RevisionOutcome | null;
  updated_at: Date;
}

export function toCloudRow(row: CloudDbRow): CloudRow {
  return {
    name: row.name,
    labels: row.labels,
    currentRevision: row.current_revision,
    lastRevision: row.last_revision,
    activeRevision: row.active_revision,
    lastOutcome: row.last_outcome,
    updatedAt: row.updated_at.toISOString(),
  };
}

/** The identity of a service's spec: equal specs, equal hash. */
export function serviceSpecHash(service: ServiceSpec): string {
  return fnv1a64(canonicalJson(service));
}

interface RevisionDbRow {
  cloud: string;
  number: number;
  kind: RevisionKind;
  record?: CloudRecord;
  author: string;
  message: string;
  workflow_id: string;
  created_at: Date;
  finished_at: Date | null;
  outcome: RevisionOutcome;
  reason: string | null;
  rollback_service: string | null;
  rollback_to: number | null;
  rollback_restore_from?: number | null;
  services?: ServiceResult[] | null;
  unreachable_hosts?: string[] | null;
}

function toRevision(row: RevisionDbRow): StoredRevision {
  const out: StoredRevision = {
    cloud: row.cloud,
    number: row.number,
    kind: row.kind,
    record: row.record as CloudRecord,
    author: row.author,
    message: row.message,
    workflowId: row.workflow_id,
    createdAt: row.created_at.toISOString(),
    outcome: row.outcome,
  };
  if (row.finished_at) out.finishedAt = row.finished_at.toISOString();
  if (row.reason !== null) out.reason = row.reason;
  if (row.rollback_service !== null && row.rollback_to !== null)
    out.rollbackOf = {
      service: row.rollback_service,
      toRevision: row.rollback_to,
      ...(row.rollback_restore_from !== null &&
        row.rollback_restore_from !== undefined && { restoreFrom: row.rollback_restore_from }),
    };
  if (row.services) out.services = row.services;
  if (row.unreachable_hosts) out.unreachableHosts = row.unreachable_hosts;
  if (row.record === undefined) delete (out as Partial<StoredRevision>).record;
  return out;
}

const SUMMARY_COLUMNS =
  'cloud, number, kind, author, message, workflow_id, created_at, finished_at, outcome, reason, rollback_service, rollback_to, rollback_restore_from';

async function upsertAccepted(client: PoolClient, r: AcceptedRevision): Promise<void> {
  await client.query(
    `INSERT INTO clouds (name, labels, last_revision, active_revision)
       VALUES ($1, $2, $3, $3)
     ON CONFLICT (name) DO UPDATE SET
       labels = EXCLUDED.labels,
       last_revision = GREATEST(clouds.last_revision, EXCLUDED.last_revision),
       active_revision = CASE WHEN EXCLUDED.last_revision >= clouds.last_revision
                              THEN EXCLUDED.active_revision ELSE clouds.active_revision END,
       updated_at = now()`,
    [r.cloud, JSON.stringify(r.record.metadata.labels ?? {}), r.number],
  );
  await client.query(
    `INSERT INTO revisions (cloud, number, kind, record, author, message, workflow_id, created_at, outcome,
                            rollback_service, rollback_to, rollback_restore_from)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'in-progress', $9, $10, $11)
     ON CONFLICT (cloud, number) DO NOTHING`,
    [
      r.cloud,
      r.number,
      r.kind,
      JSON.stringify(r.record),
      r.author,
      r.message,
      r.workflowId,
      r.createdAt,
      r.rollbackOf?.service ?? null,
      r.rollbackOf?.toRevision ?? null,
      r.rollbackOf?.restoreFrom ?? null,
    ],
  );
  for (const service of r.record.spec.services) {
    await client.query(
      `INSERT INTO revision_services (cloud, number, service, image, spec_hash) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (cloud, number, service) DO NOTHING`,
      [r.cloud, r.number, service.name, service.image, serviceSpecHash(service)],
    );
  }
}

async function markFinished(client: PoolClient, f: FinishedRevision): Promise<void> {
  // Compensation data is runtime detail, not history.
  const services = f.services.map((s) => ({ ...s, steps: [] }));
  await client.query(
    `UPDATE revisions SET outcome = $3, reason = $4, services = $5, finished_at = $6, unreachable_hosts = $7
      WHERE cloud = $1 AND number = $2`,
    [
      f.cloud,
      f.number,
      f.outcome,
      f.reason ?? null,
      JSON.stringify(services),
      f.finishedAt,
      f.unreachableHosts?.length ? f.unreachableHosts : null,
    ],
  );
  await client.query(
    `UPDATE clouds SET
       current_revision = CASE WHEN $3 = 'applied' AND $2 >= COALESCE(current_revision, 0)
                               THEN $2 ELSE current_revision END,
       active_revision = CASE WHEN active_revision = $2 THEN NULL ELSE active_revision END,
       last_outcome = CASE WHEN $2 >= last_revision THEN $3 ELSE last_outcome END,
       updated_at = now()
     WHERE name = $1`,
    [f.cloud, f.number, f.outcome],
  );
}

export class RevisionStore {
  constructor(private readonly db: Db) {}

  /** The revision is accepted and its change about to start. Idempotent. */
  async accepted(revision: AcceptedRevision): Promise<void> {
    await this.db.transaction((client) => upsertAccepted(client, revision));
  }

  /** The change ended. Idempotent: the same outcome written twice is one row. */
  async finished(finished: FinishedRevision): Promise<void> {
    await this.db.transaction((client) => markFinished(client, finished));
  }

  /**
   * Moves revisions kept in a cloud workflow's state (versions before the store) into the store.
   * Rows already there are left alone, so a retried or repeated import changes nothing.
   */
  async import(cloud: string, revisions: Revision[], workflowIdOf: (n: number) => string): Promise<number> {
    return this.db.transaction(async (client) => {
      let imported = 0;
      for (const r of revisions) {
        const exists = await client.query('SELECT 1 FROM revisions WHERE cloud = $1 AND number = $2', [
          cloud,
          r.number,
        ]);
        if (exists.rowCount) continue;
        await upsertAccepted(client, {
          cloud,
          number: r.number,
          kind: r.rollbackOf ? 'rollback' : 'apply',
          record: r.record,
          author: r.author,
          message: r.message,
          workflowId: workflowIdOf(r.number),
          createdAt: r.createdAt,
          rollbackOf: r.rollbackOf,
        });
        if (r.outcome !== 'in-progress') {
          await markFinished(client, {
            cloud,
            number: r.number,
            outcome: r.outcome,
            reason: r.reason,
            services: r.services ?? [],
            finishedAt: r.finishedAt ?? r.createdAt,
          });
        }
        imported++;
      }
      return imported;
    });
  }

  async cloud(name: string): Promise<CloudRow | null> {
    const rows = await this.db.query<CloudDbRow>('SELECT * FROM clouds WHERE name = $1', [name]);
    return rows[0] ? toCloudRow(rows[0]) : null;
  }

  async revision(cloud: string, number: number): Promise<StoredRevision | null> {
    const rows = await this.db.query<RevisionDbRow>(
      'SELECT * FROM revisions WHERE cloud = $1 AND number = $2',
      [cloud, number],
    );
    return rows[0] ? toRevision(rows[0]) : null;
  }

  /** The revision a cloud runs now (its last applied one), with its record. */
  async current(cloud: string): Promise<StoredRevision | null> {
    const rows = await this.db.query<RevisionDbRow>(
      `SELECT r.* FROM revisions r JOIN clouds c ON c.name = r.cloud AND c.current_revision = r.number
        WHERE c.name = $1`,
      [cloud],
    );
    return rows[0] ? toRevision(rows[0]) : null;
  }

  /** Newest first, without records: `before` pages back from a revision number. */
  async history(
    cloud: string,
    options: { before?: number; limit?: number } = {},
  ): Promise<RevisionSummary[]> {
    const rows = await this.db.query<RevisionDbRow>(
      `SELECT ${SUMMARY_COLUMNS} FROM revisions
        WHERE cloud = $1 AND ($2::int IS NULL OR number < $2)
        ORDER BY number DESC LIMIT $3`,
      [cloud, options.before ?? null, options.limit ?? 50],
    );
    return rows.map(toRevision);
  }

  async count(cloud: string): Promise<number> {
    const rows = await this.db.query<{ n: string }>('SELECT count(*) AS n FROM revisions WHERE cloud = $1', [
      cloud,
    ]);
    return Number(rows[0]?.n ?? 0);
  }

  /**
   * Where a rollback of one service takes its spec from: the given revision, or the last applied one
   * before `current` whose spec of the service differs from `currentSpec`. A sentence when none fits.
   */
  async rollbackSource(
    cloud: string,
    service: string,
    options: { current: number; currentSpec: ServiceSpec; toRevision?: number; restoreDatabase?: boolean },
  ): Promise<
    | { number: number; spec: ServiceSpec; restoreFrom?: number }
    | {
        error: 'NOT_FOUND' | 'INVALID_INPUT' | 'SCHEMA_CONTRACTED' | 'SNAPSHOT_MISSING';
        message: string;
      }
  > {
    let number: number;
    if (options.toRevision !== undefined) {
      const rows = await this.db.query<{ outcome: RevisionOutcome }>(
        'SELECT outcome FROM revisions WHERE cloud = $1 AND number = $2',
        [cloud, options.toRevision],
      );
      if (!rows[0])
        return { error: 'NOT_FOUND', message: `cloud ${cloud} has no revision ${options.toRevision}` };
      if (rows[0].outcome !== 'applied')
        return {
          error: 'INVALID_INPUT',
          message: `revision ${options.toRevision} never applied (${rows[0].outcome}); choose an applied revision`,
        };
      number = options.toRevision;
    } else {
      const rows = await this.db.query<{ number: number }>(
        `SELECT r.number FROM revisions r
           JOIN revision_services s ON s.cloud = r.cloud AND s.number = r.number AND s.service = $2
          WHERE r.cloud = $1 AND r.number < $3 AND r.outcome = 'applied' AND s.spec_hash <> $4
          ORDER BY r.number DESC LIMIT 1`,
        [cloud, service, options.current, serviceSpecHash(options.currentSpec)],
      );
      if (!rows[0])
        return {
          error: 'NOT_FOUND',
          message: `no earlier applied revision has a different spec for service ${service}`,
        };
      number = rows[0].number;
    }
    // Old code does not run on a contracted schema: a revision after the source that contracted this
    // service's database makes the rollback unsafe, whatever images it would put back — unless the
    // database goes back too, to the snapshot taken before the first of those revisions' expand.
    const contracted = await this.db.query<{ number: number; at: string | null; db: string | null }>(
      `SELECT r.number, s->'migrations'->>'contractedAt' AS at,
              (s->'migrations'->'database'->>'service') || '/' || (s->'migrations'->'database'->>'name') AS db
         FROM revisions r, jsonb_array_elements(COALESCE(r.services, '[]'::jsonb)) s
        WHERE r.cloud = $1 AND r.number > $2 AND r.number <= $3 AND r.outcome = 'applied'
          AND s->>'service' = $4 AND s->'migrations'->>'contract' IN ('done', 'failed')
          -- A later rollback that restored a snapshot taken at or before it undid it.
          AND NOT EXISTS (
            SELECT 1 FROM revisions x
             WHERE x.cloud = r.cloud AND x.outcome = 'applied' AND x.rollback_service = $4
               AND x.rollback_restore_from <= r.number AND x.number > r.number AND x.number <= $3)
        ORDER BY r.number`,
      [cloud, number, options.current, service],
    );
    const latest = contracted[contracted.length - 1];
    const first = contracted[0];
    let restoreFrom: number | undefined;
    if (latest && first && !options.restoreDatabase)
      return {
        error: 'SCHEMA_CONTRACTED',
        message: `cannot roll ${service} back to revision ${number}: revision ${latest.number} contracted database ${latest.db ?? '?'}${latest.at ? ` at ${latest.at}` : ''}, and the code of revision ${number} does not run on the contracted schema. Rolling back across a contract needs the database restored from the snapshot taken before revision ${first.number}'s expand: add --restore-database (writes since that snapshot are lost)`,
      };
    if (first) {
      const snapshot = await new SnapshotStore(this.db).get(cloud, service, first.number);
      if (!snapshot || snapshot.prunedAt)
        return {
          error: 'SNAPSHOT_MISSING',
          message: `cannot restore database ${first.db ?? '?'} for ${service}: ${snapshot ? `the snapshot taken before revision ${first.number}'s expand was deleted by retention at ${snapshot.prunedAt}` : `revision ${first.number} took no snapshot before its expand (its migrations have no snapshot)`}`,
        };
      restoreFrom = first.number;
    } else if (options.restoreDatabase)
      return {
        error: 'INVALID_INPUT',
        message: `--restore-database is not needed: no revision after ${number} contracted the database of ${service}, so its old code runs on the current schema; roll back without it (no data is lost)`,
      };
    const specs = await this.db.query<{ spec: ServiceSpec | null }>(
      `SELECT (SELECT s FROM jsonb_array_elements(record->'spec'->'services') s WHERE s->>'name' = $3) AS spec
         FROM revisions WHERE cloud = $1 AND number = $2`,
      [cloud, number, service],
    );
    const spec = specs[0]?.spec;
    if (!spec) return { error: 'NOT_FOUND', message: `service ${service} is not in revision ${number}` };
    return { number, spec, ...(restoreFrom !== undefined && { restoreFrom }) };
  }
}
