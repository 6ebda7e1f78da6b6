// The messages a campaign understands, with stable names and zod payloads. Shared by the workflow
// (handlers, update validators) and clients (our CLI, other systems, the `temporal` CLI: see README).
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import { z } from 'zod';
import { CampaignSpecSchema } from '../campaign/spec';
import type { CampaignPhase, CampaignProgress } from './campaignTypes';

const by = z.string().min(1).max(200);
const reason = z.string().max(2_000).default('');

export const StartCampaignPayload = z
  .object({
    spec: z.unknown(),
    startedBy: by,
    /** Continue-as-new past this many history events (tests lower it). */
    maxHistoryEvents: z.number().int().min(10).optional(),
  })
  .strict();

export const PausePayload = z.object({ by, reason }).strict();
export type PausePayload = z.input<typeof PausePayload>;

export const ResumePayload = z.object({ by, reason }).strict();
export type ResumePayload = z.input<typeof ResumePayload>;

export const AbortPayload = z
  .object({
    by,
    reason,
    /** finish: let clouds in flight finish; rollback: then roll back every cloud this campaign patched. */
    inFlight: z.enum(['finish', 'rollback']).default('finish'),
  })
  .strict();
export type AbortPayload = z.input<typeof AbortPayload>;

export const ApprovePayload = z
  .object({
    by,
    reason,
    /** The wave to approve, numbered from 1 as `campaign status` shows it. */
    wave: z.number().int().min(1),
  })
  .strict();
export type ApprovePayload = z.input<typeof ApprovePayload>;

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
/**
 * Which per-cloud outcomes the progress query returns. Kept for compatibility: campaigns since the
 * record store answer only the clouds in flight (`all` and `attention`) or none (`none`); every
 * outcome is a row in the store (view patchbay_campaign_outcomes; `campaign status` reads it there).
 * Campaigns from before the store answer all their outcomes, or only those needing attention.
 */
export const ProgressOptions = z
  .object({ outcomes: z.enum(['all', 'attention', 'none']).default('all') })
  .strict()
  .default({ outcomes: 'all' });
export type ProgressOptions = z.input<typeof ProgressOptions>;

export const campaignProgressQuery = defineQuery<CampaignProgress, [ProgressOptions?]>(
  'patchbay.campaign.progress',
);

export { CampaignSpecSchema };
