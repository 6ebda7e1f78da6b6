// A finished workflow's outcome where people look for it: the Outcome search attribute (the Web UI's
// list and `temporal workflow list --query 'Outcome = "rolled-back"'`) and its current details (the
// Web UI's workflow page), since Temporal shows a rolled-back change as "Completed" like a success.
import { setCurrentDetails, upsertSearchAttributes } from '@temporalio/workflow';
import { OUTCOME } from './searchAttributes';

export function markOutcome(outcome: string, details: string): void {
  upsertSearchAttributes([{ key: OUTCOME, value: outcome }]);
  setCurrentDetails(details);
}
