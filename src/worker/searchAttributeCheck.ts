// Workflows set search attributes (CampaignId, Cloud, Outcome…); on a namespace without them a
// workflow task fails and the change hangs. The worker checks at start and says how to fix it.
import type { Connection } from '@temporalio/client';
import { PatchbayError } from '../lib/errors';
import { missingSearchAttributes } from '../lib/searchAttributeSetup';

export async function checkSearchAttributes(connection: Connection, namespace: string): Promise<void> {
  let missing: Array<[string, string]>;
  try {
    missing = await missingSearchAttributes(connection, namespace);
  } catch {
    return; // not allowed to list (a restricted API key): the server will say it when it matters
  }
  if (missing.length === 0) return;
  const commands = missing
    .map(
      ([name, type]) =>
        `temporal operator search-attribute create --namespace ${namespace} --name ${name} --type ${type}`,
    )
    .join('; ');
  throw new PatchbayError(
    'PREFLIGHT_FAILED',
    `namespace ${namespace} lacks search attributes Patchbay's workflows set: ${missing
      .map(([name, type]) => `${name} (${type})`)
      .join(', ')}; create them first: ${commands}`,
  );
}
