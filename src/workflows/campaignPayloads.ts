// The zod payloads of a campaign's messages (their names: ./campaignMessages). Apart from those
// because zod costs ~1 MiB per workflow instance: the campaign workflow loads this file on first use
// (./schemas), clients import it as usual (`patchbay/messages` exports both).
import { z } from 'zod';
import { CampaignSpecSchema } from '../campaign/spec';

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

export { CampaignSpecSchema };
