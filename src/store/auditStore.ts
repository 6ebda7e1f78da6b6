// The audit log of operator decisions (resolve, approve, pause, resume, abort): who, when, what, why.
// Each entry has a key (the workflow id and the update's id) so a retried write lands once.
import type { Db } from './db';

export interface AuditEntry {
  key: string;
  at: string;
  actor: string;
  action: string;
  targetKind: 'cloud' | 'campaign';
  target: string;
  reason?: string;
  detail?: Record<string, unknown>;
}

export class AuditStore {
  constructor(private readonly db: Db) {}

  async record(entry: AuditEntry): Promise<void> {
    await this.db.query(
      `INSERT INTO audit_log (key, at, actor, action, target_kind, target, reason, detail)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (key) DO NOTHING`,
      [
        entry.key,
        entry.at,
        entry.actor,
        entry.action,
        entry.targetKind,
        entry.target,
        entry.reason ?? '',
        JSON.stringify(entry.detail ?? {}),
      ],
    );
  }

  /** Oldest first. */
  async list(targetKind: 'cloud' | 'campaign', target: string, limit = 200): Promise<AuditEntry[]> {
    const rows = await this.db.query<{
      key: string;
      at: Date;
      actor: string;
      action: string;
      target_kind: 'cloud' | 'campaign';
      target: string;
      reason: string;
      detail: Record<string, unknown>;
    }>('SELECT * FROM audit_log WHERE target_kind = $1 AND target = $2 ORDER BY at, id LIMIT $3', [
      targetKind,
      target,
      limit,
    ]);
    return rows.map((r) => ({
      key: r.key,
      at: r.at.toISOString(),
      actor: r.actor,
      action: r.action,
      targetKind: r.target_kind,
      target: r.target,
      reason: r.reason,
      detail: r.detail,
    }));
  }
}
