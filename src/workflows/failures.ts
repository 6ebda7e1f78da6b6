// Turns what an activity or child threw into the sentence an operator needs.
import { ActivityFailure, ApplicationFailure, ChildWorkflowFailure } from '@temporalio/workflow';

/** The ApplicationFailure (or other error) under ActivityFailure/ChildWorkflowFailure wrappers. */
function rootCause(error: unknown): unknown {
  let current: unknown = error;
  while (current instanceof ActivityFailure || current instanceof ChildWorkflowFailure) {
    if (!current.cause) break;
    current = current.cause;
  }
  return current;
}

export function failureMessage(error: unknown): string {
  const current = rootCause(error);
  if (current instanceof ApplicationFailure || current instanceof Error) return current.message;
  return String(current);
}

/** The failure type that says what went wrong (the catalogue's, src/lib/failures.ts), if any. */
export function failureTypeOf(error: unknown): string | undefined {
  const current = rootCause(error);
  return current instanceof ApplicationFailure ? (current.type ?? undefined) : undefined;
}

/**
 * The host a HOST_UNREACHABLE failure names (its details' `host`: explainPickup puts it there), or
 * undefined for any other failure.
 */
export function unreachableHostOf(error: unknown): string | undefined {
  const current = rootCause(error);
  if (!(current instanceof ApplicationFailure) || current.type !== 'HOST_UNREACHABLE') return undefined;
  const host = (current.details?.[0] as { host?: unknown } | undefined)?.host;
  return typeof host === 'string' && host !== '' ? host : undefined;
}
