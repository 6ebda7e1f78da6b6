// The fast environment (timeSkipping.ts) for campaign tests: the same test server and worker, plus
// the in-memory campaign activities (fakeCampaign.ts), and the campaign search attributes registered
// — the time-skipping test server leaves a child workflow started with an unregistered search
// attribute hanging, never started and never failed (so a campaign would wait for its first cloud
// forever).
import { SEARCH_ATTRIBUTES } from '../../src/workflows/searchAttributes';
import { createFakeCampaign, type FakeCampaign } from './fakeCampaign';
import { startFastEnv, type FastEnv } from './timeSkipping';

/** temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD */
const KEYWORD = 2;

export interface CampaignEnv extends FastEnv {
  campaigns: FakeCampaign;
}

export async function startCampaignEnv(taskQueue?: string): Promise<CampaignEnv> {
  let campaigns: FakeCampaign | undefined;
  const fast = await startFastEnv(taskQueue, {
    activities: ({ client, store }) => {
      campaigns = createFakeCampaign({ client: () => client, store });
      return campaigns.activities;
    },
  });
  try {
    if (SEARCH_ATTRIBUTES.some(([, type]) => type !== 'Keyword'))
      throw new Error('campaignEnv registers Keyword search attributes only');
    await fast.env.connection.operatorService.addSearchAttributes({
      namespace: fast.env.namespace ?? 'default',
      searchAttributes: Object.fromEntries(SEARCH_ATTRIBUTES.map(([name]) => [name, KEYWORD])),
    });
  } catch (error) {
    await fast.shutdown();
    throw error;
  }
  return { ...fast, campaigns: campaigns! };
}
