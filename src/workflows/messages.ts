// Every signal, update and query Patchbay's workflows understand, with stable names and zod payloads.
// Shared by workflows (handlers, update validators) and clients (our CLI, other systems).
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { z } from 'zod';
import type {
  ChangeFinished,
  ChangeProgress,
  CloudSummary,
  OperatorAction,
  Revision,
  ServiceProgress,
} from './types';

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
    message: z.string().max(2_000).default(''),
    author: z.string().min(1).max(200),
  })
  .strict();
export type RollbackPayload = z.input<typeof RollbackPayload>;

export interface ChangeAccepted {
  revision: number;
  /** The workflow that carries the change out: await its result for the outcome. */
  workflowId: string;
}

export const ResolvePayload = z
  .object({
    action: z.enum(['rollback', 'retry', 'abandon']),
    author: z.string().min(1).max(200),
    note: z.string().max(2_000).default(''),
  })
  .strict();
export type ResolvePayload = z.input<typeof ResolvePayload>;

/** Cloud workflow: accept a new record as the next revision and apply it. */
export const applyUpdate = defineUpdate<ChangeAccepted, [ApplyPayload]>('patchbay.apply');
/** Cloud workflow: new revision with one service's spec taken from an earlier revision. */
export const rollbackUpdate = defineUpdate<ChangeAccepted, [RollbackPayload]>('patchbay.rollback');
/** Cloud workflow: its current and highest revision numbers and the running change (history: the store). */
export const cloudStateQuery = defineQuery<CloudSummary>('patchbay.cloudState');
/** Cloud workflow: the current or the running revision with its record (older ones: the record store). */
export const revisionQuery = defineQuery<Revision | null, [number]>('patchbay.revision');
/** Change workflow -> its cloud workflow: the outcome, sent just before the change returns it. */
export const changeFinishedSignal = defineSignal<[ChangeFinished]>('patchbay.changeFinished');
/** Cloud workflow: wake up and move any history kept in workflow state into the record store (upgrades). */
export const syncStoreSignal = defineSignal('patchbay.syncStore');

/** Change workflow: per-service progress of one revision. */
export const changeProgressQuery = defineQuery<ChangeProgress>('patchbay.changeProgress');

/** Service workflow: per-instance progress, and whether it waits for an operator. */
export const serviceProgressQuery = defineQuery<ServiceProgress>('patchbay.serviceProgress');
/** Service workflow: an operator's decision while it waits (after a failed rollout or compensation). */
export const resolveUpdate = defineUpdate<{ accepted: OperatorAction }, [ResolvePayload]>('patchbay.resolve');
