// What Temporal's client throws, in Patchbay's terms: the one translation used by the clients
// (PatchbayClient, CampaignClient) and the activities that talk to other workflows. An update a
// workflow rejected becomes a PatchbayError of the failure type it carried (the catalogue,
// ../lib/failures.ts); a workflow that does not exist is "not found".
import { WorkflowNotFoundError, WorkflowUpdateFailedError, isGrpcServiceError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { PatchbayError } from '../lib/errors';
import { failureType, type FailureType } from '../lib/failures';

/** gRPC status NOT_FOUND (status.NOT_FOUND of @grpc/grpc-js): no such workflow (or namespace). */
export const GRPC_NOT_FOUND = 5;

/**
 * What a workflow's rejection of an update becomes when its type is none of the catalogue's: the
 * update was refused, nothing changed (exit 2).
 */
const UNKNOWN_REJECTION: FailureType = 'INVALID_INPUT';

/** The workflow (or what a query, signal or update was sent to) does not exist. */
export function isNotFound(error: unknown): boolean {
  return (
    error instanceof WorkflowNotFoundError ||
    (error as Error | undefined)?.name === 'WorkflowNotFoundError' ||
    (isGrpcServiceError(error) && error.code === GRPC_NOT_FOUND)
  );
}

/** The ApplicationFailure a workflow rejected an update with, or null for any other error. */
export function updateRejection(error: unknown): ApplicationFailure | null {
  return error instanceof WorkflowUpdateFailedError && error.cause instanceof ApplicationFailure
    ? error.cause
    : null;
}

/**
 * A Temporal client error in Patchbay's terms: an update's rejection becomes a PatchbayError with its
 * failure type (old spellings read as their catalogue type, unknown ones as INVALID_INPUT), its
 * message and its first detail (e.g. `issues`); with `notFound` given, a missing workflow becomes
 * NOT_FOUND with that message. Anything else comes back as it was.
 */
export function fromTemporal(error: unknown, options: { notFound?: string } = {}): unknown {
  const rejection = updateRejection(error);
  if (rejection) {
    const first: unknown = rejection.details?.[0];
    const details = first !== null && typeof first === 'object' ? (first as Record<string, unknown>) : {};
    return new PatchbayError(failureType(rejection.type) ?? UNKNOWN_REJECTION, rejection.message, details);
  }
  if (options.notFound !== undefined && isNotFound(error))
    return new PatchbayError('NOT_FOUND', options.notFound);
  return error;
}
