// The messages a campaign understands, with stable names; their zod payloads are in ./campaignPayloads. Shared by the workflow
// (handlers, update validators) and clients (our CLI, other systems, the `temporal` CLI: see README).
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type {
  AbortPayload,
  ApprovePayload,
  PausePayload,
  ProgressOptions,
  ResumePayload,
} from './campaignPayloads';
import type { CampaignPhase, CampaignProgress } from './campaignTypes';

export type { AbortPayload, ApprovePayload, PausePayload, ProgressOptions, ResumePayload };

/** What every control update answers: the campaign's phase after the message took effect. */
export interface ControlAck {
  phase: CampaignPhase;
  paused: boolean;
  message: string;
}

export const pauseCampaignUpdate = defineUpdate<ControlAck, [PausePayload]>('patchbay.campaign.pause');
export const resumeCampaignUpdate = defineUpdate<ControlAck, [ResumePayload]>('patchbay.campaign.resume');
export const abortCampaignUpdate = defineUpdate<ControlAck, [AbortPayload]>('patchbay.campaign.abort');
export const approveCampaignUpdate = defineUpdate<ControlAck, [ApprovePayload]>('patchbay.campaign.approve');
export const campaignProgressQuery = defineQuery<CampaignProgress, [ProgressOptions?]>(
  'patchbay.campaign.progress',
);
