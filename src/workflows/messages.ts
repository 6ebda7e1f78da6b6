// Every signal, update and query Patchbay's workflows understand, with stable names; their zod
// payloads are in ./messagePayloads (kept apart so a workflow that only names a message loads no zod).
// Shared by workflows (handlers, update validators) and clients (our CLI, other systems).
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { ApplyPayload, ResolvePayload, RollbackPayload } from './messagePayloads';
import type {
  ChangeFinished,
  ChangeProgress,
  CloudSummary,
  OperatorAction,
  Revision,
  ServiceProgress,
} from './types';

export type { ApplyPayload, ResolvePayload, RollbackPayload };

export interface ChangeAccepted {
  revision: number;
  /** The workflow that carries the change out: await its result for the outcome. */
  workflowId: string;
}

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
