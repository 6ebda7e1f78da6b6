// The fleet inventory: what every managed cloud runs now (its current revision's services and images),
// its last outcome and whether a change is running. Read from the record store (tables clouds and
// revision_services; other systems read the view patchbay_inventory).
import { imageVersion } from '../record/identity';
import type { RevisionOutcome } from '../workflows/types';
import type { Db } from './db';
import { toCloudRow, type CloudDbRow } from './revisionStore';

export interface InventoryService {
  service: string;
  image: string;
  /** The image's tag (or the start of its digest). */
  version: string;
}

export interface InventoryCloud {
  name: string;
  labels: Record<string, string>;
  /** The revision the cloud runs (its last applied one); null before its first revision applied. */
  currentRevision: number | null;
  lastRevision: number;
  lastOutcome: RevisionOutcome | null;
  changeRunning: boolean;
  /** The revision being carried out, when a change runs. */
  activeRevision: number | null;
  updatedAt: string;
  services: InventoryService[];
}

export interface InventoryFilter {
  /** Every label must match (metadata.labels of the cloud's last record). */
  labels?: Record<string, string>;
}

/** One service across the fleet, grouped by the image the clouds run. */
export interface ServiceInventory {
  service: string;
  clouds: number;
  images: Array<{ image: string; version: string; count: number; clouds: string[] }>;
  /** Managed clouds whose current revision has no such service (or that have no applied revision). */
  without: { count: number; clouds: string[] };
}

interface InventoryRow extends CloudDbRow {
  services: Array<{ service: string; image: string }>;
}

/** One host of a cloud's current record, as `patchbay hosts` lists it. */
export interface InventoryHost {
  cloud: string;
  host: string;
  address: string;
  /** How the host is reached (records from before `reach` existed: direct). */
  reach: 'agent' | 'direct';
  endpoint: string;
}

export class InventoryStore {
  constructor(private readonly db: Db) {}

  /** Every host of every cloud's current record (or of one cloud), by cloud then record order. */
  async hosts(cloud?: string): Promise<InventoryHost[]> {
    const rows = await this.db.query<{ cloud: string; host: Record<string, string | undefined> }>(
      `SELECT c.name AS cloud, h.value AS host
         FROM clouds c
         JOIN revisions r ON r.cloud = c.name AND r.number = c.current_revision
         CROSS JOIN LATERAL jsonb_array_elements(r.record->'spec'->'runtime'->'docker'->'hosts')
              WITH ORDINALITY AS h(value, position)
        WHERE $1::text IS NULL OR c.name = $1
        ORDER BY c.name COLLATE "C", h.position`,
      [cloud ?? null],
    );
    return rows.map(({ cloud: name, host }) => ({
      cloud: name,
      host: host.name ?? '?',
      address: host.address ?? '127.0.0.1',
      reach: host.reach === 'agent' ? 'agent' : 'direct',
      endpoint: host.endpoint ?? 'unix:///var/run/docker.sock',
    }));
  }

  /** Every managed cloud, by name, with the services of its current revision (by service name). */
  async clouds(filter: InventoryFilter = {}): Promise<InventoryCloud[]> {
    const rows = await this.db.query<InventoryRow>(
      `SELECT c.name, c.labels, c.current_revision, c.last_revision, c.active_revision, c.last_outcome,
              c.updated_at,
              COALESCE(jsonb_agg(jsonb_build_object('service', s.service, 'image', s.image)
                                 ORDER BY s.service) FILTER (WHERE s.service IS NOT NULL),
                       '[]'::jsonb) AS services
         FROM clouds c
         LEFT JOIN revision_services s ON s.cloud = c.name AND s.number = c.current_revision
        WHERE c.labels @> $1::jsonb
        GROUP BY c.name
        ORDER BY c.name COLLATE "C"`,
      [JSON.stringify(filter.labels ?? {})],
    );
    return rows.map((r) => {
      const cloud = toCloudRow(r);
      return {
        name: cloud.name,
        labels: Object.fromEntries(
          Object.entries(cloud.labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        ),
        currentRevision: cloud.currentRevision,
        lastRevision: cloud.lastRevision,
        lastOutcome: cloud.lastOutcome,
        changeRunning: cloud.activeRevision !== null,
        activeRevision: cloud.activeRevision,
        updatedAt: cloud.updatedAt,
        services: r.services.map((s) => ({ ...s, version: imageVersion(s.image) })),
      };
    });
  }

  /** Which clouds run which image of one service ("which clouds still run the vulnerable build?"). */
  async byService(service: string, filter: InventoryFilter = {}): Promise<ServiceInventory> {
    const rows = await this.db.query<{ name: string; image: string | null }>(
      `SELECT c.name, s.image
         FROM clouds c
         LEFT JOIN revision_services s
           ON s.cloud = c.name AND s.number = c.current_revision AND s.service = $1
        WHERE c.labels @> $2::jsonb
        ORDER BY c.name COLLATE "C"`,
      [service, JSON.stringify(filter.labels ?? {})],
    );
    return groupByImage(service, rows);
  }
}

/** Groups (cloud, image) pairs: images in name order, clouds in name order within each. */
export function groupByImage(
  service: string,
  rows: Array<{ name: string; image: string | null }>,
): ServiceInventory {
  const images = new Map<string, string[]>();
  const without: string[] = [];
  for (const row of rows) {
    if (row.image === null) without.push(row.name);
    else images.set(row.image, [...(images.get(row.image) ?? []), row.name]);
  }
  return {
    service,
    clouds: rows.length,
    images: [...images.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([image, clouds]) => ({
        image,
        version: imageVersion(image),
        count: clouds.length,
        clouds: [...clouds].sort(),
      })),
    without: { count: without.length, clouds: [...without].sort() },
  };
}
