// Database snapshots taken before a migration's expand: where each dump lies and what it must hash to.
// Written by idempotent activities (keyed by cloud, service and revision: a retried snapshot replaces
// its row), read by a rollback that restores one and by retention, which marks the files it deleted.
import type { SnapshotReport } from '../workflows/types';
import type { Db } from './db';

/** A snapshot as the store keeps it: what the revision reports of it, and whose it is. */
export interface SnapshotRecord extends Omit<SnapshotReport, 'pruned'> {
  cloud: string;
  service: string;
  /** The revision whose expand the snapshot preceded: it holds the schema of the revision before. */
  revision: number;
  database: { service: string; name: string };
  prunedAt?: string;
  lastRestoredAt?: string;
}

interface SnapshotRow {
  cloud: string;
  service: string;
  revision: number;
  database_service: string;
  database_name: string;
  host: string;
  path: string;
  sha256: string;
  size_bytes: string;
  duration_ms: number;
  taken_at: Date;
  row_counts: Record<string, number> | null;
  pruned_at: Date | null;
  last_restored_at: Date | null;
}

function toSnapshot(row: SnapshotRow): SnapshotRecord {
  return {
    cloud: row.cloud,
    service: row.service,
    revision: row.revision,
    database: { service: row.database_service, name: row.database_name },
    host: row.host,
    path: row.path,
    sha256: row.sha256,
    bytes: Number(row.size_bytes),
    durationMs: row.duration_ms,
    takenAt: row.taken_at.toISOString(),
    ...(row.row_counts && { rows: row.row_counts }),
    ...(row.pruned_at && { prunedAt: row.pruned_at.toISOString() }),
    ...(row.last_restored_at && { lastRestoredAt: row.last_restored_at.toISOString() }),
  };
}

export class SnapshotStore {
  constructor(private readonly db: Db) {}

  /** Records a snapshot (again, if a retry took it anew: the newer file replaces the row). */
  async taken(s: Omit<SnapshotRecord, 'prunedAt' | 'lastRestoredAt'>): Promise<void> {
    await this.db.query(
      `INSERT INTO snapshots (cloud, service, revision, database_service, database_name, host, path, sha256,
                              size_bytes, duration_ms, taken_at, row_counts)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
       ON CONFLICT (cloud, service, revision) DO UPDATE SET
         host = EXCLUDED.host, path = EXCLUDED.path, sha256 = EXCLUDED.sha256,
         size_bytes = EXCLUDED.size_bytes, duration_ms = EXCLUDED.duration_ms,
         taken_at = EXCLUDED.taken_at, row_counts = EXCLUDED.row_counts, pruned_at = NULL`,
      [
        s.cloud,
        s.service,
        s.revision,
        s.database.service,
        s.database.name,
        s.host,
        s.path,
        s.sha256,
        s.bytes,
        s.durationMs,
        s.takenAt,
        s.rows ? JSON.stringify(s.rows) : null,
      ],
    );
  }

  /**
   * The kept snapshots of a service that a new one (taken for `revision`) pushes beyond `keep`: the
   * oldest first out. Those of `revision` itself (a retry) never count.
   */
  async beyondRetention(
    cloud: string,
    service: string,
    revision: number,
    keep: number,
  ): Promise<SnapshotRecord[]> {
    const rows = await this.db.query<SnapshotRow>(
      `SELECT * FROM snapshots
        WHERE cloud = $1 AND service = $2 AND revision <> $3 AND pruned_at IS NULL
        ORDER BY revision DESC OFFSET $4`,
      [cloud, service, revision, Math.max(keep - 1, 0)],
    );
    return rows.map(toSnapshot);
  }

  async pruned(cloud: string, service: string, revisions: number[], at: string): Promise<void> {
    if (revisions.length === 0) return;
    await this.db.query(
      `UPDATE snapshots SET pruned_at = COALESCE(pruned_at, $4)
        WHERE cloud = $1 AND service = $2 AND revision = ANY($3::int[])`,
      [cloud, service, revisions, at],
    );
  }

  async get(cloud: string, service: string, revision: number): Promise<SnapshotRecord | null> {
    const rows = await this.db.query<SnapshotRow>(
      'SELECT * FROM snapshots WHERE cloud = $1 AND service = $2 AND revision = $3',
      [cloud, service, revision],
    );
    return rows[0] ? toSnapshot(rows[0]) : null;
  }

  async list(cloud: string, service?: string): Promise<SnapshotRecord[]> {
    const rows = await this.db.query<SnapshotRow>(
      `SELECT * FROM snapshots WHERE cloud = $1 AND ($2::text IS NULL OR service = $2)
        ORDER BY service, revision DESC`,
      [cloud, service ?? null],
    );
    return rows.map(toSnapshot);
  }

  async restored(cloud: string, service: string, revision: number, at: string): Promise<void> {
    await this.db.query(
      'UPDATE snapshots SET last_restored_at = $4 WHERE cloud = $1 AND service = $2 AND revision = $3',
      [cloud, service, revision, at],
    );
  }
}
