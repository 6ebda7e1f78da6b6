// In-memory fakes of the campaign activities (src/activities/campaignActivities.ts and
// campaignStoreActivities.ts), for the fast campaign tests: the same names, shapes and semantics as the
// PostgreSQL ones (src/store/campaignStore.ts), over Maps, reading clouds and revisions from the
// record-store fake (fakeStore.ts) and talking to the real cloud workflows through the test server's
// client (apply and rollback updates, the cloud-state query), as the real activities do.
//
// Extras for tests: an event log (every submit, every outcome written, every phase, in order and in
// the test server's time), and `hold(cloud)`: while held, the outcome check answers "not finished
// yet" for that cloud (as for a long change), so a test can act while a cloud is in flight.
import { Context } from '@temporalio/activity';
import { type Client, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { AwaitResult, SubmitInput, SubmitResult } from '../../src/activities/campaignActivities';
import { campaignAuthor, selectionOf } from '../../src/activities/campaignActivities';
import type { CampaignSpec } from '../../src/campaign/spec';
import { planWaves } from '../../src/campaign/waves';
import { withImage } from '../../src/record/withImage';
import type {
  CampaignCloudRef,
  CampaignCloudRow,
  CampaignHeader,
  CloudSelection,
} from '../../src/store/campaignStore';
import type { StoredRevision } from '../../src/store/revisionStore';
import {
  finishedOutcome,
  revertError,
  type CampaignPhase,
  type CloudOutcome,
  type CloudStatus,
} from '../../src/workflows/campaignTypes';
import { cloudWorkflowId } from '../../src/workflows/ids';
import { applyUpdate, cloudStateQuery, rollbackUpdate } from '../../src/workflows/messages';
import type { CloudSummary } from '../../src/workflows/types';
import type { FakeStore } from './fakeStore';

/** One row of campaign_clouds. */
export interface FakeCampaignCloud {
  cloud: string;
  position: number | null;
  wave: number | null;
  status: CloudStatus;
  revision?: number;
  fromRevision?: number;
  reason?: string;
  attempts?: number;
  revertRevision?: number;
  revertError?: string;
}

export interface FakeCampaignRow extends CampaignHeader {
  haltReason: string | null;
  finishedAt: string | null;
}

export type CampaignEvent =
  | { kind: 'submit'; campaign: string; cloud: string; change: 'patch' | 'revert'; attempt: number }
  | { kind: 'outcome'; campaign: string; cloud: string; status: CloudStatus }
  | { kind: 'revert'; campaign: string; cloud: string; reverted: boolean }
  | { kind: 'phase'; campaign: string; phase: CampaignPhase };

/** An event with its place in the log and the test server's time of the activity that wrote it. */
export type LoggedEvent = CampaignEvent & { seq: number; at: number };

const NOT_FOUND_CODE = 5;
const isNotFound = (error: unknown) =>
  (error as { code?: number }).code === NOT_FOUND_CODE || (error as Error).name === 'WorkflowNotFoundError';

/** The activity's scheduled time in the test server's (skipped) clock; real time outside an activity. */
function serverNow(): number {
  try {
    return Context.current().info.currentAttemptScheduledTimestampMs;
  } catch {
    return Date.now();
  }
}

export function createFakeCampaign(deps: { client: () => Client; store: FakeStore }) {
  const { store } = deps;
  const campaigns = new Map<string, FakeCampaignRow>();
  const clouds = new Map<string, Map<string, FakeCampaignCloud>>();
  const events: LoggedEvent[] = [];
  const held = new Set<string>();

  const log = (e: CampaignEvent) => events.push({ ...e, seq: events.length, at: serverNow() });
  const rowsOf = (campaign: string) => {
    let m = clouds.get(campaign);
    if (!m) clouds.set(campaign, (m = new Map()));
    return m;
  };
  const byPosition = (campaign: string) =>
    [...rowsOf(campaign).values()]
      .filter((r): r is FakeCampaignCloud & { position: number; wave: number } => r.position !== null)
      .sort((a, b) => a.position - b.position);

  /** The revision a cloud runs now (its current one), with its record. */
  const current = (cloud: string): StoredRevision | null => {
    const row = store.clouds.get(cloud);
    if (row?.currentRevision == null) return null;
    return store.revisions.get(cloud)?.get(row.currentRevision) ?? null;
  };

  /** CampaignStore.select: by name and labels (union), narrowed by what they run; sorted by name. */
  const select = (sel: CloudSelection): { clouds: string[]; unknown: string[] } => {
    const named = sel.names.length > 0 ? sel.names : null;
    const everyCloud = named === null && !sel.matchLabels;
    const out: string[] = [];
    for (const name of store.clouds.keys()) {
      const cur = current(name);
      const labels = cur?.record.metadata.labels ?? {};
      const chosen =
        named?.includes(name) ||
        (sel.matchLabels !== undefined &&
          cur !== null &&
          Object.entries(sel.matchLabels).every(([k, v]) => labels[k] === v)) ||
        (everyCloud && cur !== null);
      if (!chosen) continue;
      if (sel.running) {
        const r = sel.running;
        const service = cur?.record.spec.services.find((s) => s.name === r.service);
        if (!service) continue;
        if (r.images && !r.images.includes(service.image)) continue;
        if (r.imageNot !== undefined && service.image === r.imageNot) continue;
      }
      out.push(name);
    }
    out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const unknown = named ? [...new Set(named.filter((n) => !store.clouds.has(n)))] : [];
    return { clouds: out, unknown };
  };

  const setOutcome = (campaign: string, o: CloudOutcome): void => {
    const row = rowsOf(campaign).get(o.cloud);
    if (!row) return; // UPDATE … WHERE: no row, nothing written
    row.status = o.status;
    for (const key of ['revision', 'fromRevision', 'reason', 'attempts'] as const) {
      if (o[key] === undefined) delete row[key];
      else (row as unknown as Record<string, unknown>)[key] = o[key];
    }
    if (o.status !== 'running') log({ kind: 'outcome', campaign, cloud: o.cloud, status: o.status });
  };

  const setRevert = (
    campaign: string,
    cloud: string,
    result: { revertRevision: number } | { revertError: string },
  ): void => {
    const row = rowsOf(campaign).get(cloud);
    if (!row) return;
    if ('revertRevision' in result) {
      row.status = 'reverted';
      row.revertRevision = result.revertRevision;
      delete row.revertError;
      log({ kind: 'revert', campaign, cloud, reverted: true });
    } else if (row.status === 'patched') {
      row.revertError = result.revertError;
      log({ kind: 'revert', campaign, cloud, reverted: false });
    }
  };

  async function cloudSummary(cloud: string): Promise<CloudSummary | null> {
    try {
      return await deps.client().workflow.getHandle(cloudWorkflowId(cloud)).query(cloudStateQuery);
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  const activities = {
    async resolveCampaign(input: {
      spec: CampaignSpec;
      startedBy: string;
      startedAt: string;
      workflowId: string;
    }): Promise<{ clouds: number; unknown: number }> {
      const { spec } = input;
      const name = spec.metadata.name;
      if (!campaigns.has(name))
        campaigns.set(name, {
          name,
          service: spec.spec.service,
          image: spec.spec.image,
          spec,
          startedBy: input.startedBy,
          startedAt: input.startedAt,
          workflowId: input.workflowId,
          phase: 'resolving',
          haltReason: null,
          finishedAt: null,
        });
      const rows = rowsOf(name);
      if (rows.size > 0) {
        const planned = [...rows.values()].filter((r) => r.position !== null).length;
        return { clouds: planned, unknown: rows.size - planned };
      }
      const resolved = select(selectionOf(spec));
      const waves = planWaves(resolved.clouds.length, spec.spec.waves);
      resolved.clouds.forEach((cloud, i) =>
        rows.set(cloud, {
          cloud,
          position: i,
          wave: waves.find((w) => i >= w.start && i < w.end)?.index ?? null,
          status: 'pending',
        }),
      );
      for (const cloud of resolved.unknown)
        rows.set(cloud, {
          cloud,
          position: null,
          wave: null,
          status: 'failed',
          reason: `Patchbay manages no cloud named "${cloud}"`,
        });
      return { clouds: resolved.clouds.length, unknown: resolved.unknown.length };
    },

    async submitCloudChange(input: SubmitInput): Promise<SubmitResult> {
      log({
        kind: 'submit',
        campaign: input.campaignId,
        cloud: input.cloud,
        change: input.kind,
        attempt: input.record?.attempts ?? 0,
      });
      if (input.record && input.kind === 'patch')
        setOutcome(input.campaignId, {
          cloud: input.cloud,
          status: 'running',
          attempts: input.record.attempts,
        });
      const cloud = store.clouds.get(input.cloud);
      if (!cloud) {
        if ((await cloudSummary(input.cloud)) === null)
          return { kind: 'invalid', reason: `Patchbay manages no cloud named "${input.cloud}"` };
        throw ApplicationFailure.retryable(
          `cloud "${input.cloud}" has not moved its history into the record store yet`,
          'NOT_IN_STORE',
        );
      }
      const author = campaignAuthor(input.campaignId);
      const prefix = `campaign ${input.campaignId}: ${input.kind} ${input.service}`;
      const revisions = store.rows(input.cloud);
      const after = input.after ?? 0;
      // Already sent (a retry after a crash): adopt that revision, never send a second one.
      const mine = revisions
        .filter((r) => r.author === author && r.message.startsWith(prefix) && r.number > after)
        .at(-1);
      if (mine) {
        const before = revisions.filter((r) => r.number < mine.number && r.outcome === 'applied').at(-1);
        return { kind: 'accepted', revision: mine.number, fromRevision: before?.number ?? null };
      }
      const summary = await cloudSummary(input.cloud);
      if (
        summary?.active &&
        summary.active.author === author &&
        summary.active.message.startsWith(prefix) &&
        summary.active.revision > after
      )
        return { kind: 'accepted', revision: summary.active.revision, fromRevision: summary.current };
      const cur = current(input.cloud);
      if (!cur) return { kind: 'invalid', reason: `cloud "${input.cloud}" has no applied revision yet` };
      const service = cur.record.spec.services.find((s) => s.name === input.service);
      if (!service)
        return { kind: 'invalid', reason: `cloud "${input.cloud}" has no service "${input.service}"` };
      if (input.kind === 'patch' && service.image === input.image)
        return { kind: 'at-target', revision: cur.number };
      const active = summary?.active;
      if (active)
        return {
          kind: 'busy',
          reason: `revision ${active.revision} (${active.kind} by ${active.author}) is running`,
        };
      if (cloud.activeRevision !== null && summary === null)
        return { kind: 'busy', reason: `revision ${cloud.activeRevision} is running` };
      const handle = deps.client().workflow.getHandle(cloudWorkflowId(input.cloud));
      try {
        const accepted =
          input.kind === 'patch'
            ? await handle.executeUpdate(applyUpdate, {
                args: [
                  {
                    record: withImage(cur.record, input.service, input.image),
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
        return { kind: 'accepted', revision: accepted.revision, fromRevision: cur.number };
      } catch (error) {
        if (error instanceof WorkflowUpdateFailedError && error.cause instanceof ApplicationFailure) {
          if (error.cause.type === 'CLOUD_BUSY') return { kind: 'busy', reason: error.cause.message };
          return { kind: 'invalid', reason: error.cause.message };
        }
        throw error;
      }
    },

    async cloudChangeOutcome(input: {
      cloud: string;
      revision: number;
      record?: {
        campaignId: string;
        kind: 'patch' | 'revert';
        base: { cloud: string; revision: number; fromRevision?: number; attempts: number };
      };
    }): Promise<AwaitResult | null> {
      if (held.has(input.cloud)) return null;
      const row = store.revisions.get(input.cloud)?.get(input.revision);
      if (!row || row.outcome === 'in-progress') return null;
      const done: AwaitResult =
        row.reason === undefined ? { outcome: row.outcome } : { outcome: row.outcome, reason: row.reason };
      // Refused because hosts did not answer: the workflow decides (try again, or skip).
      if (row.unreachableHosts?.length) return { ...done, unreachableHosts: [...row.unreachableHosts] };
      if (input.record) {
        const outcome = finishedOutcome(input.record.kind, input.record.base, done);
        if (input.record.kind === 'patch') setOutcome(input.record.campaignId, outcome);
        else
          setRevert(
            input.record.campaignId,
            input.cloud,
            outcome.status === 'reverted'
              ? { revertRevision: input.revision }
              : { revertError: revertError(outcome) },
          );
      }
      return done;
    },

    async campaignStoreBegin(header: CampaignHeader): Promise<void> {
      if (!campaigns.has(header.name))
        campaigns.set(header.name, { ...structuredClone(header), haltReason: null, finishedAt: null });
    },

    async campaignStoreImport(input: { campaign: string; rows: CampaignCloudRow[] }): Promise<void> {
      const rows = rowsOf(input.campaign);
      for (const r of input.rows)
        rows.set(r.cloud, {
          cloud: r.cloud,
          position: r.position,
          wave: r.wave,
          ...structuredClone(r.outcome),
        });
    },

    async campaignStoreOutcome(input: { campaign: string; outcome: CloudOutcome }): Promise<void> {
      setOutcome(input.campaign, input.outcome);
    },

    async campaignStoreRevert(input: {
      campaign: string;
      cloud: string;
      result: { revertRevision: number } | { revertError: string };
    }): Promise<void> {
      setRevert(input.campaign, input.cloud, input.result);
    },

    async campaignStorePhase(input: {
      campaign: string;
      phase: CampaignPhase;
      haltReason: string | null;
      finishedAt: string | null;
      notStartedFrom?: number;
    }): Promise<void> {
      if (input.notStartedFrom !== undefined)
        for (const r of byPosition(input.campaign))
          if (r.position >= input.notStartedFrom && r.status === 'pending') r.status = 'not-started';
      const row = campaigns.get(input.campaign);
      if (row) {
        row.phase = input.phase;
        row.haltReason = input.haltReason ?? null;
        row.finishedAt = input.finishedAt ?? null;
      }
      log({ kind: 'phase', campaign: input.campaign, phase: input.phase });
    },

    async campaignStorePage(input: {
      campaign: string;
      from: number;
      limit: number;
    }): Promise<CampaignCloudRef[]> {
      return byPosition(input.campaign)
        .filter((r) => r.position >= input.from)
        .slice(0, input.limit)
        .map(({ cloud, position, wave }) => ({ cloud, position, wave }));
    },

    async campaignStorePatchedPage(input: {
      campaign: string;
      after: number;
      limit: number;
    }): Promise<Array<CampaignCloudRef & { fromRevision: number | null }>> {
      return byPosition(input.campaign)
        .filter((r) => r.position > input.after && r.status === 'patched' && r.revertError === undefined)
        .slice(0, input.limit)
        .map(({ cloud, position, wave, fromRevision }) => ({
          cloud,
          position,
          wave,
          fromRevision: fromRevision ?? null,
        }));
    },
  };

  /** The campaign's rows in launch order (named clouds it does not manage last). */
  const rows = (campaign: string): FakeCampaignCloud[] => [
    ...byPosition(campaign),
    ...[...rowsOf(campaign).values()].filter((r) => r.position === null),
  ];

  return {
    activities,
    campaigns,
    events,
    rows,
    /** Status of each of the campaign's clouds, by cloud, in launch order. */
    statuses(campaign: string): Record<string, CloudStatus> {
      return Object.fromEntries(rows(campaign).map((r) => [r.cloud, r.status]));
    },
    /** The events of one campaign, in order. */
    log(campaign: string): LoggedEvent[] {
      return events.filter((e) => e.campaign === campaign);
    },
    /** While held, the cloud's change looks unfinished to the campaign (it stays in flight). */
    hold(cloud: string): () => void {
      held.add(cloud);
      return () => held.delete(cloud);
    },
  };
}

export type FakeCampaign = ReturnType<typeof createFakeCampaign>;
