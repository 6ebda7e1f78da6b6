// The zod payloads of the cloud and service workflows' messages (their names: ./messages). Apart from
// ./messages because zod costs ~1 MiB per workflow instance: workflows load this file on first use
// only (./schemas), clients import it as usual (`patchbay/messages` exports both).
import { z } from 'zod';

export const ApplyPayload = z
  .object({
    /** A deployment record (the YAML as JSON); validated in full before it is accepted. */
    record: z.unknown(),
    message: z.string().max(2_000).default(''),
    author: z.string().min(1).max(200),
  })
  .strict();
export type ApplyPayload = z.input<typeof ApplyPayload>;

export const RollbackPayload = z
  .object({
    service: z.string().min(1),
    /** Default: the last applied revision before the current one whose spec of this service differs. */
    toRevision: z.number().int().min(1).optional(),
    /**
     * Across a revision that contracted the service's database: restore the snapshot taken before
     * that revision's expand (writes since are lost). Refused when no contract lies in between.
     */
    restoreDatabase: z.boolean().default(false),
    message: z.string().max(2_000).default(''),
    author: z.string().min(1).max(200),
  })
  .strict();
export type RollbackPayload = z.input<typeof RollbackPayload>;
/** A rollback payload as parsed (defaults filled in). */
export type RollbackRequest = z.output<typeof RollbackPayload>;

export const ResolvePayload = z
  .object({
    /** approve: a contract held for approval (`contract.approval: manual`) runs. */
    action: z.enum(['rollback', 'retry', 'abandon', 'approve']),
    author: z.string().min(1).max(200),
    note: z.string().max(2_000).default(''),
  })
  .strict();
export type ResolvePayload = z.input<typeof ResolvePayload>;
