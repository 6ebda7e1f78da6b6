// Workflow patch ids (Temporal's `patched`): where the commands a workflow issues changed, histories
// written before the change replay through the old branch. Remove a patch only once no workflow
// started before it can still be running (see the replay test's saved histories).

/** Revisions and campaign outcomes live in the record store; workflows keep bounded state. */
export const RECORD_STORE_PATCH = 'patchbay-record-store-v1';

/** Change and campaign-cloud workflows carry their outcome (and changes their cloud) as search attributes. */
export const OUTCOME_ATTRIBUTE_PATCH = 'patchbay-outcome-attribute-v1';
