// What a campaign does to each cloud, through the cloud's own documented updates (the per-cloud patch
// path, not a second implementation of it), reading what clouds run and did from the record store.
// Idempotent: a retried submit finds the revision it already made (by author and message) instead of
// making another. A cloud made by a version before the store (its history still in its workflow) is
// told to move it there (signal patchbay.syncStore) and looked up again.
import { heartbeat } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { CampaignSpec } from '../campaign/spec';
import { planWaves } from '../campaign/waves';
import { isNotFound, updateRejection } from '../client/temporalErrors';
import { failure, failureType } from '../lib/failures';
import { withImage } from '../record/withImage';
import { CampaignStore, type CloudSelection } from '../store/campaignStore';
import type { Db } from '../store/db';
import { RevisionStore } from '../store/revisionStore';
import { finishedOutcome, revertError, type CampaignPhase } from '../workflows/campaignTypes';
import { cloudWorkflowId } from '../workflows/ids';
import { applyUpdate, cloudStateQuery, rollbackUpdate, syncStoreSignal } from '../workflows/messages';
import type { CloudSummary, Revision } from '../workflows/types';

export interface CampaignActivityDeps {
  /** A Temporal client on the worker's namespace (campaigns talk to cloud workflows). */
  temporal: () => Client;
  /** The record store. */
  db: () => Db;
}

export type SubmitInput = {
  campaignId: string;
  cloud: string;
  service: string;
  /** Campaigns in the store: mark the cloud's row running (this attempt) before anything else. */
  record?: { attempts: number };
  /**
   * Sending it again after revision `after` was refused (its hosts did not answer): only a revision
   * newer than that is this attempt's to adopt.
   */
  after?: number;
} & ({ kind: 'patch'; image: string } | { kind: 'revert'; toRevision: number });

export type SubmitResult =
  | { kind: 'accepted'; revision: number; fromRevision: number | null }
  | { kind: 'at-target'; revision: number | null }
  | { kind: 'busy'; reason: string }
  | { kind: 'invalid'; reason: string };

export interface AwaitResult {
  outcome: Revision['outcome'];
  reason?: string;
  /** Preflight refused the revision only because these hosts did not answer (nothing touched). */
  unreachableHosts?: string[];
}

export const campaignAuthor = (campaignId: string): string => `campaign:${campaignId}`;
const messagePrefix = (input: SubmitInput): string =>
  `campaign ${input.campaignId}: ${input.kind} ${input.service}`;

/** How long a cloud from before the store gets to move its history there when told to. */
const SYNC_WAIT_MS = 20_000;

async function cloudSummary(client: Client, cloud: string): Promise<CloudSummary | null> {
  try {
    return await client.workflow.getHandle(cloudWorkflowId(cloud)).query(cloudStateQuery);
  } catch (error) {
    if (isNotFound(error)) return null;
    throw error;
  }
}

/**
 * Clouds whose workflow runs but that the store does not know yet (made by a version before it): tells
 * each to move its history into the store and waits, bounded, until they are there. Returns those
 * still missing (not a cloud at all, or not moved in time).
 */
async function syncIntoStore(
  client: Client,
  db: Db,
  names: string[],
  waitMs = SYNC_WAIT_MS,
): Promise<string[]> {
  const missing = async (of: string[]) => {
    if (of.length === 0) return [];
    const rows = await db.query<{ name: string }>('SELECT name FROM clouds WHERE name = ANY($1::text[])', [
      of,
    ]);
    const have = new Set(rows.map((r) => r.name));
    return of.filter((n) => !have.has(n));
  };
  let todo = await missing(names);
  const told: string[] = [];
  for (const name of todo) {
    try {
      await client.workflow.getHandle(cloudWorkflowId(name)).signal(syncStoreSignal);
      told.push(name);
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    if (told.length % 100 === 0) heartbeat(told.length);
  }
  todo = told;
  for (const deadline = Date.now() + waitMs; todo.length > 0 && Date.now() < deadline;) {
    await new Promise((r) => setTimeout(r, 250));
    heartbeat(todo.length);
    todo = await missing(todo);
  }
  return todo;
}

/** Cloud workflows running now (visibility), for selectors over every managed cloud. */
async function runningClouds(client: Client): Promise<string[]> {
  const out: string[] = [];
  for await (const wf of client.workflow.list({
    query: `WorkflowType = 'cloudWorkflow' AND ExecutionStatus = 'Running'`,
  })) {
    if (wf.workflowId.startsWith('cloud:')) out.push(wf.workflowId.slice('cloud:'.length));
    if (out.length % 200 === 0) heartbeat(out.length);
  }
  return out;
}

/** A spec's clouds as a store selection (`running` resolved against the campaign's service and image). */
export function selectionOf(spec: CampaignSpec): CloudSelection {
  const { clouds, service, image } = spec.spec;
  const running = clouds.running;
  return {
    names: clouds.names,
    matchLabels: clouds.selector?.matchLabels,
    running: running && {
      service: running.service ?? service,
      images: running.image === undefined ? undefined : [running.image].flat(),
      imageNot: running.notAtTarget ? image : running.imageNot,
    },
  };
}

export function createCampaignActivities(deps: CampaignActivityDeps) {
  const select = async (sel: CloudSelection) => {
    const client = deps.temporal();
    const db = deps.db();
    // Clouds from before the store are moved in first: named ones, or every running one for selectors.
    const selectsFleet = Boolean(sel.matchLabels || sel.running || sel.names.length === 0);
    await syncIntoStore(client, db, sel.names);
    if (selectsFleet) await syncIntoStore(client, db, await runningClouds(client));
    return new CampaignStore(db).select(sel);
  };

  return {
    /**
     * Campaigns started before the store (their workflow keeps the list): the clouds a campaign
     * targets, named ones (unknown names reported) and those whose labels match.
     */
    async resolveCampaignClouds(input: {
      names: string[];
      matchLabels?: Record<string, string>;
    }): Promise<{ clouds: string[]; unknown: string[] }> {
      return select({ names: input.names, matchLabels: input.matchLabels });
    },

    /**
     * A campaign's clouds into the store, once: its row, then every selected cloud in launch order
     * with its wave (pending), and named clouds Patchbay does not manage (failed). Returns counts only:
     * the workflow never holds the list. Idempotent (a retry keeps the first resolution).
     */
    async resolveCampaign(input: {
      spec: CampaignSpec;
      startedBy: string;
      startedAt: string;
      workflowId: string;
    }): Promise<{ clouds: number; unknown: number }> {
      const store = new CampaignStore(deps.db());
      const { spec } = input;
      await store.begin({
        name: spec.metadata.name,
        service: spec.spec.service,
        image: spec.spec.image,
        spec,
        startedBy: input.startedBy,
        startedAt: input.startedAt,
        workflowId: input.workflowId,
        phase: 'resolving' satisfies CampaignPhase,
      });
      const resolved = await select(selectionOf(spec));
      return store.plan(
        spec.metadata.name,
        resolved.clouds,
        resolved.unknown,
        planWaves(resolved.clouds.length, spec.spec.waves),
      );
    },

    /** Sends one cloud its patch (or the campaign's rollback of it) as a new revision. */
    async submitCloudChange(input: SubmitInput): Promise<SubmitResult> {
      const client = deps.temporal();
      const db = deps.db();
      const revisions = new RevisionStore(db);
      if (input.record && input.kind === 'patch')
        await new CampaignStore(db).setOutcome(input.campaignId, {
          cloud: input.cloud,
          status: 'running',
          attempts: input.record.attempts,
        });
      let cloud = await revisions.cloud(input.cloud);
      if (!cloud) {
        const left = await syncIntoStore(client, db, [input.cloud]);
        if (left.length > 0 && (await cloudSummary(client, input.cloud)) === null)
          return { kind: 'invalid', reason: `Patchbay manages no cloud named "${input.cloud}"` };
        cloud = await revisions.cloud(input.cloud);
        if (!cloud)
          throw failure(
            'NOT_IN_STORE',
            `cloud "${input.cloud}" has not moved its history into the record store yet`,
          );
      }
      const author = campaignAuthor(input.campaignId);
      const prefix = messagePrefix(input);
      const after = input.after ?? 0;
      // Already sent (a retry after a crash): adopt that revision, never send a second one.
      const mine = await db.query<{ number: number }>(
        `SELECT number FROM revisions WHERE cloud = $1 AND author = $2 AND left(message, length($3)) = $3
            AND number > $4
          ORDER BY number DESC LIMIT 1`,
        [input.cloud, author, prefix, after],
      );
      if (mine[0]) {
        const before = await db.query<{ number: number }>(
          `SELECT number FROM revisions WHERE cloud = $1 AND number < $2 AND outcome = 'applied'
            ORDER BY number DESC LIMIT 1`,
          [input.cloud, mine[0].number],
        );
        return { kind: 'accepted', revision: mine[0].number, fromRevision: before[0]?.number ?? null };
      }
      // Accepted by the cloud but not in the store yet: its workflow says so.
      const summary = await cloudSummary(client, input.cloud);
      if (
        summary?.active &&
        summary.active.author === author &&
        summary.active.message.startsWith(prefix) &&
        summary.active.revision > after
      )
        return { kind: 'accepted', revision: summary.active.revision, fromRevision: summary.current };
      const current = await revisions.current(input.cloud);
      if (!current) return { kind: 'invalid', reason: `cloud "${input.cloud}" has no applied revision yet` };
      const service = current.record.spec.services.find((s) => s.name === input.service);
      if (!service)
        return { kind: 'invalid', reason: `cloud "${input.cloud}" has no service "${input.service}"` };
      if (input.kind === 'patch' && service.image === input.image)
        return { kind: 'at-target', revision: current.number };
      const active = summary?.active;
      if (active)
        return {
          kind: 'busy',
          reason: `revision ${active.revision} (${active.kind} by ${active.author}) is running`,
        };
      if (cloud.activeRevision !== null && summary === null)
        return { kind: 'busy', reason: `revision ${cloud.activeRevision} is running` };
      const handle = client.workflow.getHandle(cloudWorkflowId(input.cloud));
      try {
        const accepted =
          input.kind === 'patch'
            ? await handle.executeUpdate(applyUpdate, {
                args: [
                  {
                    record: withImage(current.record, input.service, input.image),
                    message: `${prefix} to ${input.image}`,
                    author,
                  },
                ],
              })
            : await handle.executeUpdate(rollbackUpdate, {
                args: [
                  {
                    service: input.service,
                    toRevision: input.toRevision,
                    message: `${prefix} to revision ${input.toRevision}`,
                    author,
                  },
                ],
              });
        return { kind: 'accepted', revision: accepted.revision, fromRevision: current.number };
      } catch (error) {
        const rejection = updateRejection(error);
        if (rejection) {
          if (failureType(rejection.type) === 'CLOUD_BUSY')
            return { kind: 'busy', reason: rejection.message };
          return { kind: 'invalid', reason: rejection.message };
        }
        throw error;
      }
    },

    /**
     * The outcome of a revision once the cloud has recorded it in the store, else null. Short on
     * purpose: a campaign waits between calls in the workflow (a timer), never in an activity, so
     * hundreds of clouds in flight do not fill the worker's activity slots that their own changes need.
     * A revision refused because hosts did not answer comes back with them, and its outcome row is
     * left to the workflow (it tries the cloud again, or skips it, as the campaign says).
     */
    async cloudChangeOutcome(input: {
      cloud: string;
      revision: number;
      /** Campaigns in the store: once the revision finished, write the cloud's outcome row too. */
      record?: {
        campaignId: string;
        kind: 'patch' | 'revert';
        base: { cloud: string; revision: number; fromRevision?: number; attempts: number };
      };
    }): Promise<AwaitResult | null> {
      const rows = await deps
        .db()
        .query<{ outcome: Revision['outcome']; reason: string | null; unreachable_hosts: string[] | null }>(
          'SELECT outcome, reason, unreachable_hosts FROM revisions WHERE cloud = $1 AND number = $2',
          [input.cloud, input.revision],
        );
      // Not written yet (the cloud writes it with retries until the database answers): not done.
      const row = rows[0];
      if (!row || row.outcome === 'in-progress') return null;
      const done: AwaitResult =
        row.reason === null ? { outcome: row.outcome } : { outcome: row.outcome, reason: row.reason };
      if (row.unreachable_hosts?.length) return { ...done, unreachableHosts: row.unreachable_hosts };
      if (input.record) {
        const store = new CampaignStore(deps.db());
        const outcome = finishedOutcome(input.record.kind, input.record.base, done);
        if (input.record.kind === 'patch') await store.setOutcome(input.record.campaignId, outcome);
        else
          await store.setRevert(
            input.record.campaignId,
            input.cloud,
            outcome.status === 'reverted'
              ? { revertRevision: input.revision }
              : { revertError: revertError(outcome) },
          );
      }
      return done;
    },
  };
}
