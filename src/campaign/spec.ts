// A fleet campaign: one service patched to one image across many clouds, in waves. The zod schema is
// the source of truth; pure (no Node builtins) because the campaign workflow normalises its input
// with it, as the cloud workflow does with records.
import { z } from 'zod';
import { imageHasTagOrDigest } from '../record/identity';
import { API_VERSION, Duration, dnsLabel } from '../record/schema';

/** A wave's size: a count, a percentage of the campaign's clouds, or "rest". */
export const WaveSize = z.union([
  z.number().int().positive(),
  z.string().regex(/^(\d{1,3}(\.\d+)?%|rest)$/, 'must be a count, a percentage such as "10%", or "rest"'),
]);

export const Wave = z
  .object({
    name: z.string().min(1).max(40).optional(),
    size: WaveSize,
    /** Launch this wave only after `patchbay campaign approve` (or the approve update). */
    approval: z.boolean().default(false),
  })
  .strict();

/**
 * Clouds by what they run now (the images of their current revision, from the record store):
 * `image` (one or a list: runs one of these), `imageNot` (runs another image than this one) or
 * `notAtTarget: true` (runs another image than the campaign's target). `service` defaults to the
 * campaign's service; a cloud without that service is never selected.
 */
export const RunningSelector = z
  .object({
    service: dnsLabel.optional(),
    image: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
    imageNot: z.string().min(1).optional(),
    notAtTarget: z.literal(true).optional(),
  })
  .strict()
  .refine((r) => r.image !== undefined || r.imageNot !== undefined || r.notAtTarget, {
    message: 'say what the clouds run: image, imageNot or notAtTarget: true',
  })
  .refine((r) => !(r.imageNot !== undefined && r.notAtTarget), {
    message: 'give imageNot or notAtTarget, not both',
  });
export type RunningSelector = z.output<typeof RunningSelector>;

/** What a campaign does with a cloud whose hosts did not answer (spec.unreachable); `{}`: the defaults. */
export const UnreachablePolicy = z
  .object({
    action: z.enum(['retry', 'skip']).default('retry'),
    retries: z.number().int().nonnegative().max(1000).default(10),
    interval: Duration.default(60_000),
  })
  .strict();

export const CampaignSpecSchema = z
  .object({
    apiVersion: z.literal(API_VERSION),
    kind: z.literal('Campaign'),
    metadata: z
      .object({
        /** Stable id: the campaign's workflow id is campaign:<name>; starting it twice is refused. */
        name: dnsLabel,
        description: z.string().max(500).optional(),
      })
      .strict(),
    spec: z
      .object({
        /**
         * Which clouds: by name, by labels of their current records, or both (union); `running` then
         * keeps only the clouds whose current revision runs a given image of a service (without names
         * or a selector: every managed cloud that does).
         */
        clouds: z
          .object({
            names: z.array(dnsLabel).default([]),
            selector: z
              .object({ matchLabels: z.record(z.string(), z.string()) })
              .strict()
              .optional(),
            running: RunningSelector.optional(),
          })
          .strict()
          .refine((c) => c.names.length > 0 || c.selector || c.running, {
            message: 'name the clouds, or give a selector (matchLabels) or running',
          }),
        service: dnsLabel,
        image: z
          .string()
          .refine(imageHasTagOrDigest, 'must pin a tag or digest (e.g. patchbay/keystone:22.0.2-0-deb12u6)'),
        waves: z
          .array(Wave)
          .min(1)
          .default([{ size: 'rest', approval: false }]),
        /** Clouds patched at once within a wave. */
        concurrency: z.number().int().positive().max(1000).default(5),
        /** Wait after each wave (except the last) before the next starts. */
        bake: Duration.default(0),
        failureBudget: z
          .object({
            perWave: z.number().int().nonnegative().default(0),
            total: z.number().int().nonnegative().default(0),
            /** halt: stop launching; rollback: also roll back every cloud this campaign patched. */
            onExceeded: z.enum(['halt', 'rollback']).default('halt'),
          })
          .strict()
          .default({ perWave: 0, total: 0, onExceeded: 'halt' }),
        /** A cloud busy with another change: try again later, or skip it. */
        busy: z
          .object({
            action: z.enum(['retry', 'skip']).default('retry'),
            retries: z.number().int().nonnegative().max(1000).default(10),
            interval: Duration.default(30_000),
          })
          .strict()
          .default({ action: 'retry', retries: 10, interval: 30_000 }),
        /**
         * A cloud whose change preflight refused because hosts did not answer (an agent offline):
         * submit it again later (a new revision), or skip it. Either way it ends `skipped-unreachable`
         * if its hosts stay away: not counted against the failure budget, the other clouds go on.
         */
        unreachable: UnreachablePolicy.default({ action: 'retry', retries: 10, interval: 60_000 }),
      })
      .strict(),
  })
  .strict();

export type CampaignSpec = z.output<typeof CampaignSpecSchema>;
export type CampaignSpecInput = z.input<typeof CampaignSpecSchema>;
