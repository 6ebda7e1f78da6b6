// The library behind `patchbay campaign …` (and for other programs): starts campaigns, reads their
// progress and steers them through the documented updates. It never prints; the CLI does.
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  isGrpcServiceError,
  type Client,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { CampaignSpecSchema, type CampaignSpec } from '../campaign/spec';
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
import type { CampaignProgress, CampaignResult } from '../workflows/campaignTypes';
import { CAMPAIGN_ID, SERVICE, TARGET_VERSION } from '../workflows/searchAttributes';
import type { PatchbayClient } from './patchbayClient';

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
  status: string;
  startTime: string;
  closeTime: string | null;
}

function translate(error: unknown, id: string): unknown {
  if (error instanceof WorkflowUpdateFailedError && error.cause instanceof ApplicationFailure) {
    const code = error.cause.type === 'INVALID_INPUT' ? 'INVALID_INPUT' : 'CAMPAIGN_REFUSED';
    return new PatchbayError(
      code,
      error.cause.message,
      (error.cause.details?.[0] ?? {}) as Record<string, unknown>,
    );
  }
  if (error instanceof WorkflowNotFoundError || (isGrpcServiceError(error) && error.code === 5))
    return new PatchbayError('NOT_FOUND', `no campaign named "${id}" here`);
  return error;
}

export class CampaignClient {
  constructor(
    private readonly patchbay: PatchbayClient,
    private readonly maxHistoryEvents?: number,
  ) {}

  private get client(): Client {
    return this.patchbay.client;
  }

  /**
   * Starts a campaign. Refused (nothing starts) when a named cloud is unknown or a campaign with this
   * name already exists.
   */
  async start(spec: CampaignSpec, startedBy: string): Promise<{ id: string; workflowId: string }> {
    // One visibility listing, not a query per cloud: a fleet may name thousands.
    const managed = new Set<string>();
    if (spec.spec.clouds.names.length > 0)
      for await (const wf of this.client.workflow.list({
        query: `WorkflowType = 'cloudWorkflow' AND ExecutionStatus = 'Running'`,
      }))
        managed.add(wf.workflowId.replace(/^cloud:/, ''));
    const unknown: string[] = [];
    // Visibility lags a little behind: a cloud not listed yet is asked directly.
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

  /** Progress; `outcomes` picks which per-cloud outcomes come back (all by default). */
  async progress(id: string, options: ProgressOptions = {}): Promise<CampaignProgress> {
    try {
      return await this.client.workflow
        .getHandle(campaignWorkflowId(id))
        .query(campaignProgressQuery, options);
    } catch (error) {
      throw translate(error, id);
    }
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
      const translated = translate(error, id);
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

  async list(): Promise<CampaignSummary[]> {
    const out: CampaignSummary[] = [];
    for await (const wf of this.client.workflow.list({ query: `WorkflowType = 'campaignWorkflow'` })) {
      out.push({
        id: wf.workflowId.replace(/^campaign:/, ''),
        status: wf.status.name,
        startTime: wf.startTime.toISOString(),
        closeTime: wf.closeTime?.toISOString() ?? null,
      });
    }
    return out;
  }
}
