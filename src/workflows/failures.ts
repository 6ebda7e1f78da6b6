// Turns what an activity or child threw into the sentence an operator needs.
import { ActivityFailure, ApplicationFailure, ChildWorkflowFailure } from '@temporalio/workflow';

export function failureMessage(error: unknown): string {
  let current: unknown = error;
  // Unwrap ActivityFailure/ChildWorkflowFailure to the ApplicationFailure that says what went wrong.
  while (current instanceof ActivityFailure || current instanceof ChildWorkflowFailure) {
    if (!current.cause) break;
    current = current.cause;
  }
  if (current instanceof ApplicationFailure || current instanceof Error) return current.message;
  return String(current);
}
