// The library behind the CLI (and for other programs): talks to the cloud workflows through the
// documented updates and queries. It never prints; the CLI does.
import {
  observeHostsWorkflow,
  type HostObservation,
  type ObserveHostsInput,
} from '../workflows/runtimes/observeHosts';
import { Client, Connection, WithStartWorkflowOperation } from '@temporalio/client';
import { PatchbayError } from '../lib/errors';
import type { TemporalConfig } from '../lib/config';
import { connectChecked } from '../lib/temporalReach';
import type { CloudRecord } from '../record/schema';
import { cloudWorkflow } from '../workflows/cloud';
import { cloudWorkflowId } from '../workflows/ids';
import {
  applyUpdate,
  changeProgressQuery,
  cloudStateQuery,
  resolveUpdate,
  rollbackUpdate,
  serviceProgressQuery,
  type ChangeAccepted,
  type ResolvePayload,
} from '../workflows/messages';
import { syncStoreSignal } from '../workflows/messages';
import type { ChangeProgress, ChangeResult, CloudSummary, ServiceProgress } from '../workflows/types';
import { redactUrl, storeUrl } from '../store/config';
import { openDb, type Db } from '../store/db';
import { AuditStore } from '../store/auditStore';
import { InventoryStore } from '../store/inventoryStore';
import {
  RevisionStore,
  type CloudRow,
  type RevisionSummary,
  type StoredRevision,
} from '../store/revisionStore';
import { fromTemporal, isNotFound } from './temporalErrors';

export interface ChangeWatch {
  change: ChangeProgress | null;
  services: ServiceProgress[];
}

/** One page of a cloud's revisions, newest first. */
export interface HistoryPage {
  cloud: string;
  /** The revision the cloud runs now. */
  current: number | null;
  /** The highest revision number. */
  last: number;
  /** How many revisions the cloud has in all. */
  total: number;
  revisions: RevisionSummary[];
  /** Pass as `before` for the next (older) page; null when this page reaches revision 1. */
  nextBefore: number | null;
}

/** How long a read waits for a cloud made by an older version to move its history into the store. */
const SYNC_WAIT_MS = 5_000;

export class PatchbayClient {
  private db: Db | null = null;
  /** The record store's URL (PATCHBAY_DATABASE_URL, or the embedded store's). */
  readonly storeUrl: string;

  private constructor(
    readonly client: Client,
    readonly config: TemporalConfig,
    storeUrlOverride?: string,
  ) {
    this.storeUrl = storeUrlOverride ?? storeUrl().url;
  }

  static async connect(config: TemporalConfig, options: { storeUrl?: string } = {}): Promise<PatchbayClient> {
    const connection = await connectChecked(config, () =>
      Connection.connect({ ...config.connection, connectTimeout: 5_000 }),
    );
    return new PatchbayClient(
      new Client({ connection, namespace: config.namespace }),
      config,
      options.storeUrl,
    );
  }

  /** Reads a cloud's agent hosts through their agents (status, plan): see observeHostsWorkflow. */
  async observeAgentHosts(input: ObserveHostsInput): Promise<HostObservation[]> {
    return this.client.workflow.execute(observeHostsWorkflow, {
      taskQueue: this.config.taskQueue,
      workflowId: `observe:${input.cloud}:${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`,
      args: [input],
      workflowExecutionTimeout: '2m',
    });
  }

  async close(): Promise<void> {
    const db = this.db;
    this.db = null;
    try {
      await db?.close();
    } finally {
      await this.client.connection.close();
    }
  }

  /** The record store, opened on first use. */
  /** The record store this client reads (opened at first use, closed by close()). */
  storeDb(): Db {
    this.db ??= openDb(this.storeUrl, { max: 3 });
    return this.db;
  }

  get revisions(): RevisionStore {
    return new RevisionStore(this.storeDb());
  }

  get inventory(): InventoryStore {
    return new InventoryStore(this.storeDb());
  }

  get audit(): AuditStore {
    return new AuditStore(this.storeDb());
  }

  /**
   * Fails with a sentence naming the store when it does not answer or has no schema yet. Changes
   * call it before they send anything, so an unreachable store leaves everything untouched.
   */
  async checkStore(): Promise<void> {
    try {
      await this.storeDb().query('SELECT 1 FROM clouds LIMIT 0');
    } catch (error) {
      if ((error as { code?: string }).code === '42P01') {
        throw new PatchbayError(
          'ENVIRONMENT',
          `the record store at ${redactUrl(this.storeUrl)} has no Patchbay schema yet; ` +
            'start a worker ("npx patchbay worker" or "npx patchbay dev"), which creates it',
        );
      }
      throw error;
    }
  }

  /** Sends a record as the next revision of its cloud, starting the cloud's workflow if it is new. */
  async apply(record: CloudRecord, options: { message: string; author: string }): Promise<ChangeAccepted> {
    const name = record.metadata.name;
    await this.checkStore();
    const start = new WithStartWorkflowOperation(cloudWorkflow, {
      workflowId: cloudWorkflowId(name),
      taskQueue: this.config.taskQueue,
      args: [{ name }],
      workflowIdConflictPolicy: 'USE_EXISTING',
    });
    try {
      return await this.client.workflow.executeUpdateWithStart(applyUpdate, {
        args: [{ record, message: options.message, author: options.author }],
        startWorkflowOperation: start,
      });
    } catch (error) {
      throw fromTemporal(error);
    }
  }

  async rollback(
    cloud: string,
    options: {
      service: string;
      toRevision?: number;
      restoreDatabase?: boolean;
      message: string;
      author: string;
    },
  ): Promise<ChangeAccepted> {
    await this.checkStore();
    await this.requireCloud(cloud);
    try {
      return await this.client.workflow.getHandle(cloudWorkflowId(cloud)).executeUpdate(rollbackUpdate, {
        args: [options],
      });
    } catch (error) {
      throw fromTemporal(error);
    }
  }

  /** The cloud workflow's summary (current and last revision, running change), or null when there is none. */
  async state(cloud: string): Promise<CloudSummary | null> {
    try {
      return await this.client.workflow.getHandle(cloudWorkflowId(cloud)).query(cloudStateQuery);
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  async requireCloud(cloud: string): Promise<CloudSummary> {
    const state = await this.state(cloud);
    if (!state)
      throw new PatchbayError(
        'NOT_FOUND',
        `Patchbay manages no cloud named "${cloud}" here (${this.config.address})`,
      );
    return state;
  }

  /**
   * Waits for a change, calling onProgress with its live per-service and per-instance state. It
   * returns with the change's outcome; by then the cloud has recorded it, so a next change is
   * accepted at once.
   */
  async waitForChange(
    _cloud: string,
    accepted: ChangeAccepted,
    onProgress?: (watch: ChangeWatch) => void,
    pollMs = 500,
  ): Promise<ChangeResult> {
    const handle = this.client.workflow.getHandle(accepted.workflowId);
    const result = handle.result() as Promise<ChangeResult>;
    let finished = false;
    void result.finally(() => (finished = true)).catch(() => undefined);
    while (!finished && onProgress) {
      onProgress(await this.watchChange(accepted.workflowId));
      await Promise.race([result.catch(() => undefined), new Promise((r) => setTimeout(r, pollMs))]);
    }
    const outcome = await result;
    // The last poll may predate the final phases: finish the live view from the result itself.
    onProgress?.({
      change: null,
      services: outcome.services.map((s) => ({
        service: s.service,
        action: s.action,
        instances: s.instances,
        blocked: null,
      })),
    });
    // The change writes its outcome to the store and frees its cloud before it returns: nothing to wait for.
    return outcome;
  }

  async watchChange(workflowId: string): Promise<ChangeWatch> {
    const watch: ChangeWatch = { change: null, services: [] };
    try {
      watch.change = await this.client.workflow.getHandle(workflowId).query(changeProgressQuery);
    } catch {
      return watch; // not started yet, or already gone
    }
    for (const s of watch.change.services.filter((s) => s.status !== 'pending')) {
      try {
        watch.services.push(await this.client.workflow.getHandle(s.workflowId).query(serviceProgressQuery));
      } catch {
        // a finished child may be closed; its result is in the change result
      }
    }
    return watch;
  }

  /** Sends an operator's decision to the service workflow of the cloud's running change that waits for one. */
  async resolve(cloud: string, payload: ResolvePayload): Promise<{ workflowId: string; accepted: string }> {
    await this.checkStore(); // the decision is written to the audit log
    const state = await this.requireCloud(cloud);
    if (!state.active) throw new PatchbayError('NOT_FOUND', `cloud ${cloud} has no running change`);
    const watch = await this.watchChange(state.active.workflowId);
    const blocked = watch.services.find((s) => s.blocked);
    if (!blocked) {
      throw new PatchbayError(
        'INVALID_INPUT',
        `revision ${state.active.revision} of cloud ${cloud} is not waiting for an operator`,
      );
    }
    const workflowId = watch.change?.services.find((s) => s.service === blocked.service)
      ?.workflowId as string;
    try {
      const out = await this.client.workflow
        .getHandle(workflowId)
        .executeUpdate(resolveUpdate, { args: [payload] });
      return { workflowId, accepted: out.accepted };
    } catch (error) {
      throw fromTemporal(error);
    }
  }

  /**
   * The cloud's row in the record store. A cloud made by a version before the store (its history
   * still in its workflow) is asked to move it there (signal patchbay.syncStore), and waited for a
   * few seconds. Null when neither the store nor Temporal knows the cloud.
   */
  async storedCloud(cloud: string): Promise<{ row: CloudRow | null; summary: CloudSummary | null } | null> {
    const row = await this.revisions.cloud(cloud);
    if (row) return { row, summary: null };
    const summary = await this.state(cloud);
    if (!summary) return null;
    if (summary.last === 0) return { row: null, summary }; // started, nothing accepted yet
    try {
      await this.client.workflow.getHandle(cloudWorkflowId(cloud)).signal(syncStoreSignal);
    } catch {
      // closed meanwhile: read what there is
    }
    const deadline = Date.now() + SYNC_WAIT_MS;
    for (;;) {
      const synced = await this.revisions.cloud(cloud);
      if (synced && synced.lastRevision >= summary.last) return { row: synced, summary };
      if (Date.now() > deadline) return { row: synced, summary };
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  private async requireStoredCloud(
    cloud: string,
  ): Promise<{ row: CloudRow | null; summary: CloudSummary | null }> {
    const found = await this.storedCloud(cloud);
    if (!found)
      throw new PatchbayError(
        'NOT_FOUND',
        `Patchbay manages no cloud named "${cloud}" here (record store ${redactUrl(this.storeUrl)}, Temporal ${this.config.address})`,
      );
    return found;
  }

  /** A page of the cloud's revisions, newest first, without records (`before`: older than that number). */
  async history(cloud: string, options: { before?: number; limit?: number } = {}): Promise<HistoryPage> {
    const { row, summary } = await this.requireStoredCloud(cloud);
    const limit = options.limit ?? 50;
    const [revisions, total] = await Promise.all([
      this.revisions.history(cloud, { before: options.before, limit }),
      this.revisions.count(cloud),
    ]);
    const oldest = revisions.at(-1)?.number;
    return {
      cloud,
      current: row?.currentRevision ?? summary?.current ?? null,
      last: row?.lastRevision ?? summary?.last ?? 0,
      total,
      revisions,
      nextBefore: revisions.length === limit && oldest !== undefined && oldest > 1 ? oldest : null,
    };
  }

  /** One revision with its record, outcome and per-service results. */
  async revision(cloud: string, number: number): Promise<StoredRevision> {
    const { row, summary } = await this.requireStoredCloud(cloud);
    const revision = await this.revisions.revision(cloud, number);
    if (!revision) {
      const last = row?.lastRevision ?? summary?.last ?? 0;
      throw new PatchbayError(
        'NOT_FOUND',
        `cloud ${cloud} has no revision ${number} (${last ? `it has 1..${last}` : 'it has none yet'})`,
      );
    }
    return revision;
  }

  /** The revision the cloud runs now, with its record; null for a cloud unknown or never applied. */
  async currentRevision(cloud: string): Promise<StoredRevision | null> {
    const found = await this.storedCloud(cloud);
    if (!found) return null;
    return this.revisions.current(cloud);
  }

  /** What `status` needs: the recorded revision (store) and the running change (the cloud workflow). */
  async statusInput(
    cloud: string,
  ): Promise<{ current: StoredRevision | null; summary: CloudSummary | null; row: CloudRow | null }> {
    const found = await this.requireStoredCloud(cloud);
    const [current, summary] = await Promise.all([
      this.revisions.current(cloud),
      found.summary ? Promise.resolve(found.summary) : this.state(cloud),
    ]);
    return { current, summary, row: found.row };
  }
}
