// Campaigns in the record store: one row per campaign (spec, phase, halt reason) and one per cloud it
// covers (campaign_clouds: place in launch order, wave, outcome). Written by idempotent activities
// (upserts keyed by campaign + cloud), read by `campaign status/list` and other systems
// (view patchbay_campaign_outcomes). The campaign workflow itself keeps only counters.
import type { CampaignSpec } from '../campaign/spec';
import type { PlannedWave } from '../campaign/waves';
import type { CampaignPhase, CloudOutcome, CloudStatus, StatusCounts } from '../workflows/campaignTypes';
import { QUIET_STATUSES } from '../workflows/campaignTypes';
import type { Db } from './db';

export interface CampaignHeader {
  name: string;
  service: string;
  image: string;
  spec: CampaignSpec;
  startedBy: string;
  startedAt: string;
  workflowId: string;
  phase: CampaignPhase;
}

export interface CampaignRow extends CampaignHeader {
  haltReason: string | null;
  finishedAt: string | null;
  updatedAt: string;
}

/** One cloud of a campaign in launch order. */
export interface CampaignCloudRef {
  cloud: string;
  position: number;
  wave: number;
}

/** A row to import (legacy state) or to plan: position and wave null for a named cloud not managed. */
export interface CampaignCloudRow {
  cloud: string;
  position: number | null;
  wave: number | null;
  outcome: Omit<CloudOutcome, 'cloud'>;
}

export type OutcomeFilter = 'all' | 'attention' | 'none';

/** The clouds a selector names: by name and labels (union), narrowed by what they run. */
export interface CloudSelection {
  names: string[];
  matchLabels?: Record<string, string>;
  running?: { service: string; images?: string[]; imageNot?: string };
}

interface OutcomeDbRow {
  cloud: string;
  position: number | null;
  wave: number | null;
  status: CloudStatus;
  revision: number | null;
  from_revision: number | null;
  reason: string | null;
  attempts: number | null;
  revert_revision: number | null;
  revert_error: string | null;
}

function toOutcome(r: OutcomeDbRow): CloudOutcome {
  const o: CloudOutcome = { cloud: r.cloud, status: r.status };
  if (r.revision !== null) o.revision = r.revision;
  if (r.from_revision !== null) o.fromRevision = r.from_revision;
  if (r.reason !== null) o.reason = r.reason;
  if (r.attempts !== null) o.attempts = r.attempts;
  if (r.revert_revision !== null) o.revertRevision = r.revert_revision;
  if (r.revert_error !== null) o.revertError = r.revert_error;
  return o;
}

const OUTCOME_COLUMNS =
  'cloud, position, wave, status, revision, from_revision, reason, attempts, revert_revision, revert_error';

type Run = (text: string, values: unknown[]) => Promise<unknown>;

async function upsertRows(run: Run, campaign: string, rows: CampaignCloudRow[]): Promise<void> {
  if (rows.length === 0) return;
  const col = <T>(f: (r: CampaignCloudRow) => T) => rows.map(f);
  await run(
    `INSERT INTO campaign_clouds (campaign, cloud, position, wave, status, revision, from_revision, reason,
                                  attempts, revert_revision, revert_error)
     SELECT $1, * FROM unnest($2::text[], $3::int[], $4::int[], $5::text[], $6::int[], $7::int[], $8::text[],
                              $9::int[], $10::int[], $11::text[])
     ON CONFLICT (campaign, cloud) DO UPDATE SET
       position = EXCLUDED.position, wave = EXCLUDED.wave, status = EXCLUDED.status,
       revision = EXCLUDED.revision, from_revision = EXCLUDED.from_revision, reason = EXCLUDED.reason,
       attempts = EXCLUDED.attempts, revert_revision = EXCLUDED.revert_revision,
       revert_error = EXCLUDED.revert_error, updated_at = now()`,
    [
      campaign,
      col((r) => r.cloud),
      col((r) => r.position),
      col((r) => r.wave),
      col((r) => r.outcome.status),
      col((r) => r.outcome.revision ?? null),
      col((r) => r.outcome.fromRevision ?? null),
      col((r) => r.outcome.reason ?? null),
      col((r) => r.outcome.attempts ?? null),
      col((r) => r.outcome.revertRevision ?? null),
      col((r) => r.outcome.revertError ?? null),
    ],
  );
}

function toRow(r: {
  name: string;
  service: string;
  image: string;
  spec: CampaignSpec;
  started_by: string;
  started_at: Date;
  workflow_id: string;
  phase: CampaignPhase;
  halt_reason: string | null;
  finished_at: Date | null;
  updated_at: Date;
}): CampaignRow {
  return {
    name: r.name,
    service: r.service,
    image: r.image,
    spec: r.spec,
    startedBy: r.started_by,
    startedAt: r.started_at.toISOString(),
    workflowId: r.workflow_id,
    phase: r.phase,
    haltReason: r.halt_reason,
    finishedAt: r.finished_at?.toISOString() ?? null,
    updatedAt: r.updated_at.toISOString(),
  };
}

export class CampaignStore {
  constructor(private readonly db: Db) {}

  // ---- selection (fleet inventory) ----

  /**
   * Managed clouds a campaign selects, sorted by name; `unknown`: named clouds the store does not know.
   * Label and `running` matches look at the current revision (a cloud that never applied has none).
   */
  async select(sel: CloudSelection): Promise<{ clouds: string[]; unknown: string[] }> {
    const named = sel.names.length > 0 ? sel.names : null;
    const labels = sel.matchLabels ? JSON.stringify(sel.matchLabels) : null;
    const everyCloud = named === null && labels === null;
    const rows = await this.db.query<{ name: string }>(
      `SELECT c.name FROM clouds c
        WHERE ((c.name = ANY($1::text[]))
               OR ($2::jsonb IS NOT NULL AND c.current_revision IS NOT NULL AND c.labels @> $2::jsonb)
               OR ($3::boolean AND c.current_revision IS NOT NULL))
          AND ($4::text IS NULL OR EXISTS (
                SELECT 1 FROM revision_services s
                 WHERE s.cloud = c.name AND s.number = c.current_revision AND s.service = $4
                   AND ($5::text[] IS NULL OR s.image = ANY($5::text[]))
                   AND ($6::text IS NULL OR s.image <> $6)))
        ORDER BY c.name`,
      [
        named ?? [],
        labels,
        everyCloud,
        sel.running?.service ?? null,
        sel.running?.images ?? null,
        sel.running?.imageNot ?? null,
      ],
    );
    const clouds = rows.map((r) => r.name);
    let unknown: string[] = [];
    if (named) {
      const known = await this.db.query<{ name: string }>(
        'SELECT name FROM clouds WHERE name = ANY($1::text[])',
        [named],
      );
      const have = new Set(known.map((r) => r.name));
      unknown = [...new Set(named.filter((n) => !have.has(n)))];
    }
    return { clouds, unknown };
  }

  // ---- writes (idempotent: activities may be retried and replayed) ----

  /** The campaign's row, written once when it starts (a retry changes nothing). */
  async begin(header: CampaignHeader): Promise<void> {
    await this.db.query(
      `INSERT INTO campaigns (name, service, image, spec, started_by, started_at, workflow_id, phase)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (name) DO NOTHING`,
      [
        header.name,
        header.service,
        header.image,
        JSON.stringify(header.spec),
        header.startedBy,
        header.startedAt,
        header.workflowId,
        header.phase,
      ],
    );
  }

  /**
   * The campaign's clouds, once: `clouds` in launch order (position 0..n-1) with their waves pending,
   * `unknown` names failed outside every wave. If the campaign already has its clouds (a retried
   * activity), those stand and their numbers are returned: a cloud appearing meanwhile changes nothing.
   */
  async plan(
    campaign: string,
    clouds: string[],
    unknown: string[],
    waves: PlannedWave[],
  ): Promise<{ clouds: number; unknown: number }> {
    return this.db.transaction(async (client) => {
      await client.query('SELECT 1 FROM campaigns WHERE name = $1 FOR UPDATE', [campaign]);
      const have = await client.query<{ planned: string; outside: string }>(
        `SELECT count(position) AS planned, count(*) - count(position) AS outside
           FROM campaign_clouds WHERE campaign = $1`,
        [campaign],
      );
      const row = have.rows[0]!;
      if (Number(row.planned) + Number(row.outside) > 0)
        return { clouds: Number(row.planned), unknown: Number(row.outside) };
      const waveOf = (i: number) => waves.find((w) => i >= w.start && i < w.end)?.index ?? null;
      const rows: CampaignCloudRow[] = clouds.map((cloud, i) => ({
        cloud,
        position: i,
        wave: waveOf(i),
        outcome: { status: 'pending' },
      }));
      for (const cloud of unknown)
        rows.push({
          cloud,
          position: null,
          wave: null,
          outcome: { status: 'failed', reason: `Patchbay manages no cloud named "${cloud}"` },
        });
      for (let i = 0; i < rows.length; i += 10_000)
        await upsertRows((t, v) => client.query(t, v), campaign, rows.slice(i, i + 10_000));
      return { clouds: clouds.length, unknown: unknown.length };
    });
  }

  /** Rows as they are (moving a campaign's state from before the store in). Idempotent. */
  async importRows(campaign: string, rows: CampaignCloudRow[]): Promise<void> {
    await upsertRows((t, v) => this.db.query(t, v), campaign, rows);
  }

  /** One cloud's outcome (a final one, or `running`); revert fields are left as they are. */
  async setOutcome(campaign: string, o: CloudOutcome): Promise<void> {
    await this.db.query(
      `UPDATE campaign_clouds SET status = $3, revision = $4, from_revision = $5, reason = $6, attempts = $7,
              updated_at = now()
        WHERE campaign = $1 AND cloud = $2`,
      [
        campaign,
        o.cloud,
        o.status,
        o.revision ?? null,
        o.fromRevision ?? null,
        o.reason ?? null,
        o.attempts ?? null,
      ],
    );
  }

  /** The campaign's rollback of a patched cloud: reverted by a revision, or why it could not be. */
  async setRevert(
    campaign: string,
    cloud: string,
    result: { revertRevision: number } | { revertError: string },
  ): Promise<void> {
    if ('revertRevision' in result)
      await this.db.query(
        `UPDATE campaign_clouds SET status = 'reverted', revert_revision = $3, revert_error = NULL, updated_at = now()
          WHERE campaign = $1 AND cloud = $2`,
        [campaign, cloud, result.revertRevision],
      );
    else
      await this.db.query(
        `UPDATE campaign_clouds SET revert_error = $3, updated_at = now()
          WHERE campaign = $1 AND cloud = $2 AND status = 'patched'`,
        [campaign, cloud, result.revertError],
      );
  }

  async setPhase(
    campaign: string,
    update: { phase: CampaignPhase; haltReason?: string | null; finishedAt?: string | null },
  ): Promise<void> {
    await this.db.query(
      `UPDATE campaigns SET phase = $2, halt_reason = $3, finished_at = $4, updated_at = now() WHERE name = $1`,
      [campaign, update.phase, update.haltReason ?? null, update.finishedAt ?? null],
    );
  }

  /** Clouds from position `from` on that never started: `not-started` (halted or aborted before them). */
  async markNotStarted(campaign: string, from: number): Promise<number> {
    const rows = await this.db.query(
      `UPDATE campaign_clouds SET status = 'not-started', updated_at = now()
        WHERE campaign = $1 AND position >= $2 AND status = 'pending' RETURNING 1`,
      [campaign, from],
    );
    return rows.length;
  }

  // ---- reads ----

  /** Clouds in launch order from position `from`, `limit` of them. */
  async page(campaign: string, from: number, limit: number): Promise<CampaignCloudRef[]> {
    return this.db.query<CampaignCloudRef>(
      `SELECT cloud, position, wave FROM campaign_clouds
        WHERE campaign = $1 AND position >= $2 ORDER BY position LIMIT $3`,
      [campaign, from, limit],
    );
  }

  /** Patched clouds not yet rolled back (nor failed to be), after position `after`, in order. */
  async patchedPage(
    campaign: string,
    after: number,
    limit: number,
  ): Promise<Array<CampaignCloudRef & { fromRevision: number | null }>> {
    const rows = await this.db.query<CampaignCloudRef & { from_revision: number | null }>(
      `SELECT cloud, position, wave, from_revision FROM campaign_clouds
        WHERE campaign = $1 AND position > $2 AND status = 'patched' AND revert_error IS NULL
        ORDER BY position LIMIT $3`,
      [campaign, after, limit],
    );
    return rows.map(({ from_revision, ...r }) => ({ ...r, fromRevision: from_revision }));
  }

  async get(name: string): Promise<CampaignRow | null> {
    const rows = await this.db.query<Parameters<typeof toRow>[0]>('SELECT * FROM campaigns WHERE name = $1', [
      name,
    ]);
    return rows[0] ? toRow(rows[0]) : null;
  }

  /** Newest first, without specs. */
  async list(limit = 500): Promise<Array<Omit<CampaignRow, 'spec'> & { totals: StatusCounts }>> {
    const rows = await this.db.query<Parameters<typeof toRow>[0] & { totals: StatusCounts | null }>(
      `SELECT c.name, c.service, c.image, c.started_by, c.started_at, c.workflow_id, c.phase, c.halt_reason,
              c.finished_at, c.updated_at,
              (SELECT jsonb_object_agg(status, n) FROM
                 (SELECT status, count(*) AS n FROM campaign_clouds WHERE campaign = c.name GROUP BY status) t) AS totals
         FROM campaigns c ORDER BY c.started_at DESC LIMIT $1`,
      [limit],
    );
    return rows.map((r) => {
      const { spec: _, ...row } = toRow({ ...r, spec: null as never });
      return { ...row, totals: r.totals ?? {} };
    });
  }

  /**
   * Outcomes in launch order (clouds outside every wave last). `attention`: only those not quiet
   * (in flight, failed, rolled back, skipped, reverted); `none`: nothing.
   */
  async outcomes(campaign: string, which: OutcomeFilter = 'all', limit = 1_000_000): Promise<CloudOutcome[]> {
    if (which === 'none') return [];
    const rows = await this.db.query<OutcomeDbRow>(
      `SELECT ${OUTCOME_COLUMNS} FROM campaign_clouds
        WHERE campaign = $1 AND status <> 'pending' AND ($2::text[] IS NULL OR NOT (status = ANY($2::text[])))
        ORDER BY position NULLS LAST, cloud LIMIT $3`,
      [campaign, which === 'attention' ? [...QUIET_STATUSES] : null, limit],
    );
    return rows.map(toOutcome);
  }

  async outcome(campaign: string, cloud: string): Promise<CloudOutcome | null> {
    const rows = await this.db.query<OutcomeDbRow>(
      `SELECT ${OUTCOME_COLUMNS} FROM campaign_clouds WHERE campaign = $1 AND cloud = $2`,
      [campaign, cloud],
    );
    return rows[0] ? toOutcome(rows[0]) : null;
  }

  /** Per wave (null: outside every wave) and status: how many clouds. */
  async counts(campaign: string): Promise<Array<{ wave: number | null; status: CloudStatus; n: number }>> {
    const rows = await this.db.query<{ wave: number | null; status: CloudStatus; n: string }>(
      'SELECT wave, status, count(*) AS n FROM campaign_clouds WHERE campaign = $1 GROUP BY wave, status',
      [campaign],
    );
    return rows.map((r) => ({ ...r, n: Number(r.n) }));
  }
}
