// The library behind `patchbay campaign …` (and for other programs): starts campaigns, reads their
// progress and steers them through the documented updates. It never prints; the CLI does.
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { CampaignSpecSchema, type CampaignSpec } from '../campaign/spec';
import { planWaves } from '../campaign/waves';
import { PatchbayError } from '../lib/errors';
import { parseYamlText, readYamlFile } from '../record/load';
import { imageVersion } from '../record/identity';
import { zodIssues } from '../record/zodIssues';
import { campaignWorkflow, campaignWorkflowId } from '../workflows/campaign';
import {
  abortCampaignUpdate,
  approveCampaignUpdate,
  campaignProgressQuery,
  pauseCampaignUpdate,
  resumeCampaignUpdate,
  type AbortPayload,
  type ApprovePayload,
  type ControlAck,
  type PausePayload,
  type ProgressOptions,
  type ResumePayload,
} from '../workflows/campaignMessages';
import { CampaignStore, type CampaignRow, type OutcomeFilter } from '../store/campaignStore';
import type { Db } from '../store/db';
import type {
  CampaignProgress,
  CampaignResult,
  CloudOutcome,
  CloudStatus,
  StatusCounts,
} from '../workflows/campaignTypes';
import { CAMPAIGN_ID, SERVICE, TARGET_VERSION } from '../workflows/searchAttributes';
import type { PatchbayClient } from './patchbayClient';
import { fromTemporal } from './temporalErrors';

export function loadCampaignFile(file: string): CampaignSpec {
  return parseCampaignText(readYamlFile(file, 'campaign'), file);
}

export function parseCampaignText(text: string, file = '<campaign>'): CampaignSpec {
  return parseYamlText(text, file, 'the campaign spec', (input) => {
    const parsed = CampaignSpecSchema.safeParse(input);
    return parsed.success
      ? { ok: true, value: parsed.data }
      : { ok: false, issues: zodIssues(parsed.error, input, CampaignSpecSchema) };
  });
}

export interface CampaignSummary {
  id: string;
  /** The workflow's status (RUNNING, COMPLETED, …), or STORED when only the record store has it. */
  status: string;
  startTime: string;
  closeTime: string | null;
  /** From the record store (campaigns since it): phase, what it patches, per-status counts. */
  phase?: string;
  service?: string;
  image?: string;
  totals?: StatusCounts;
}

/**
 * A campaign's progress from the record store alone (its workflow is gone: the namespace's retention
 * deleted it): waves re-planned from the stored spec, counts and outcomes from campaign_clouds.
 */
export function progressFromStore(
  row: CampaignRow,
  counts: Array<{ wave: number | null; status: CloudStatus; n: number }>,
  outcomes: CloudOutcome[],
): CampaignProgress {
  const planned = counts.filter((c) => c.wave !== null).reduce((n, c) => n + c.n, 0);
  const totals: StatusCounts = {};
  for (const c of counts) totals[c.status] = (totals[c.status] ?? 0) + c.n;
  const waves = planWaves(planned, CampaignSpecSchema.parse(row.spec).spec.waves).map((w) => {
    const waveCounts: StatusCounts = {};
    for (const c of counts) if (c.wave === w.index) waveCounts[c.status] = c.n;
    return { ...w, approved: true, counts: waveCounts };
  });
  return {
    id: row.name,
    service: row.service,
    image: row.image,
    phase: row.phase,
    paused: null,
    abort: null,
    haltReason: row.haltReason,
    startedAt: row.startedAt,
    finishedAt: row.finishedAt,
    currentWave: null,
    waves,
    totals,
    clouds: planned,
    inFlight: [],
    outcomes: Object.fromEntries(outcomes.map((o) => [o.cloud, o])),
    runs: 0,
  };
}

export class CampaignClient {
  /**
   * `db`: the record store, where campaigns since it keep their clouds and outcomes (without it, only
   * what the workflows answer).
   */
  constructor(
    private readonly patchbay: PatchbayClient,
    private readonly maxHistoryEvents?: number,
    private readonly db?: Db,
  ) {}

  /** The store given, else the PatchbayClient's (every client since the record store has one). */
  private get store(): CampaignStore | null {
    const db = this.db ?? this.patchbay.storeDb();
    return new CampaignStore(db);
  }

  private get client(): Client {
    return this.patchbay.client;
  }

  /**
   * Starts a campaign. Refused (nothing starts) when a named cloud is unknown or a campaign with this
   * name already exists.
   */
  async start(spec: CampaignSpec, startedBy: string): Promise<{ id: string; workflowId: string }> {
    // One look-up in the store (or one visibility listing without it), not a query per cloud: a fleet
    // may name thousands.
    const managed = new Set<string>();
    if (spec.spec.clouds.names.length > 0) {
      if (this.store) {
        for (const c of (await this.store.select({ names: spec.spec.clouds.names })).clouds) managed.add(c);
      } else {
        for await (const wf of this.client.workflow.list({
          query: `WorkflowType = 'cloudWorkflow' AND ExecutionStatus = 'Running'`,
        }))
          managed.add(wf.workflowId.replace(/^cloud:/, ''));
      }
    }
    const unknown: string[] = [];
    // Not listed (visibility lags; a cloud from before the store is not in it yet): asked directly.
    for (const cloud of spec.spec.clouds.names)
      if (!managed.has(cloud) && !(await this.patchbay.state(cloud))) unknown.push(cloud);
    if (unknown.length)
      throw new PatchbayError(
        'NOT_FOUND',
        `campaign ${spec.metadata.name}: Patchbay manages no cloud named ${unknown.map((c) => `"${c}"`).join(', ')} (spec.clouds.names)`,
      );
    const workflowId = campaignWorkflowId(spec.metadata.name);
    try {
      await this.client.workflow.start(campaignWorkflow, {
        workflowId,
        taskQueue: this.patchbay.config.taskQueue,
        args: [{ spec, startedBy, maxHistoryEvents: this.maxHistoryEvents }],
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        typedSearchAttributes: [
          { key: CAMPAIGN_ID, value: spec.metadata.name },
          { key: SERVICE, value: spec.spec.service },
          { key: TARGET_VERSION, value: imageVersion(spec.spec.image) },
        ],
        staticSummary: `campaign ${spec.metadata.name}: ${spec.spec.service} -> ${imageVersion(spec.spec.image)}`,
      });
    } catch (error) {
      if (error instanceof WorkflowExecutionAlreadyStartedError)
        throw new PatchbayError(
          'CAMPAIGN_REFUSED',
          `a campaign named "${spec.metadata.name}" already exists (${workflowId}); give this one another metadata.name`,
        );
      if (/search attribute/i.test((error as Error).message))
        throw new PatchbayError(
          'ENVIRONMENT',
          `${(error as Error).message}: register CampaignId, Cloud, Service and TargetVersion (Keyword) on this namespace ` +
            '(the embedded dev server does it at start; restart it with "npx patchbay dev")',
        );
      throw error;
    }
    return { id: spec.metadata.name, workflowId };
  }

  /**
   * Progress: phase, waves and totals from the workflow; per-cloud outcomes (`outcomes` picks which)
   * from the record store for campaigns kept there, else (campaigns from before it) from the workflow.
   * A campaign whose workflow is gone (retention) but that the store has is answered from the store.
   */
  async progress(id: string, options: ProgressOptions = {}): Promise<CampaignProgress> {
    const which: OutcomeFilter = options.outcomes ?? 'all';
    const store = this.store;
    let live: CampaignProgress | null = null;
    try {
      live = await this.client.workflow
        .getHandle(campaignWorkflowId(id))
        .query(campaignProgressQuery, { outcomes: store ? 'none' : which });
    } catch (error) {
      const translated = fromTemporal(error, { notFound: `no campaign named "${id}" here` });
      if (!(store && translated instanceof PatchbayError && translated.code === 'NOT_FOUND'))
        throw translated;
    }
    const row = store ? await store.get(id) : null;
    if (!store || !row) {
      if (live && store && which !== 'none')
        // Not in the store (yet): a campaign from before it keeps its outcomes in the workflow.
        return this.client.workflow.getHandle(campaignWorkflowId(id)).query(campaignProgressQuery, options);
      if (live) return live;
      throw new PatchbayError('NOT_FOUND', `no campaign named "${id}" here`);
    }
    const outcomes = await store.outcomes(id, which);
    if (!live) return progressFromStore(row, await store.counts(id), outcomes);
    return { ...live, outcomes: Object.fromEntries(outcomes.map((o) => [o.cloud, o])) };
  }

  async result(id: string): Promise<CampaignResult> {
    return (await this.client.workflow.getHandle(campaignWorkflowId(id)).result()) as CampaignResult;
  }

  private async control<P>(
    id: string,
    update: { name: string },
    payload: P,
    what: string,
  ): Promise<ControlAck> {
    const handle = this.client.workflow.getHandle(campaignWorkflowId(id));
    try {
      return await handle.executeUpdate<ControlAck, [P]>(update.name, { args: [payload] });
    } catch (error) {
      const translated = fromTemporal(error, { notFound: `no campaign named "${id}" here` });
      if (translated instanceof PatchbayError && translated.code !== 'NOT_FOUND') throw translated;
      // A finished campaign no longer takes updates: say so, rather than "not found".
      const closed = await handle.describe().then(
        (d) => (d.status.name === 'RUNNING' ? null : d.status.name),
        () => null,
      );
      if (!closed) throw translated;
      const phase = await this.progress(id).then(
        (p) => p.phase,
        () => closed.toLowerCase(),
      );
      throw new PatchbayError('CAMPAIGN_REFUSED', `campaign ${id} has ${phase}; nothing to ${what}`);
    }
  }

  pause(id: string, payload: PausePayload): Promise<ControlAck> {
    return this.control(id, pauseCampaignUpdate, payload, 'pause');
  }
  resume(id: string, payload: ResumePayload): Promise<ControlAck> {
    return this.control(id, resumeCampaignUpdate, payload, 'resume');
  }
  abort(id: string, payload: AbortPayload): Promise<ControlAck> {
    return this.control(id, abortCampaignUpdate, payload, 'abort');
  }
  approve(id: string, payload: ApprovePayload): Promise<ControlAck> {
    return this.control(id, approveCampaignUpdate, payload, 'approve');
  }

  /** Campaigns in the store (newest first) and those only Temporal knows (from before the store). */
  async list(): Promise<CampaignSummary[]> {
    const out = new Map<string, CampaignSummary>();
    for await (const wf of this.client.workflow.list({ query: `WorkflowType = 'campaignWorkflow'` })) {
      out.set(wf.workflowId.replace(/^campaign:/, ''), {
        id: wf.workflowId.replace(/^campaign:/, ''),
        status: wf.status.name,
        startTime: wf.startTime.toISOString(),
        closeTime: wf.closeTime?.toISOString() ?? null,
      });
    }
    if (this.store) {
      for (const c of await this.store.list()) {
        const wf = out.get(c.name);
        out.set(c.name, {
          id: c.name,
          status: wf?.status ?? 'STORED',
          startTime: c.startedAt,
          closeTime: wf?.closeTime ?? c.finishedAt,
          phase: c.phase,
          service: c.service,
          image: c.image,
          totals: c.totals,
        });
      }
    }
    return [...out.values()].sort((a, b) => b.startTime.localeCompare(a.startTime));
  }
}
