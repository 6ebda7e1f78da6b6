// The fast environment (timeSkipping.ts) for campaign tests: the same test server and worker, plus
// the in-memory campaign activities (fakeCampaign.ts).
import { createFakeCampaign, type FakeCampaign } from './fakeCampaign';
import { startFastEnv, type FastEnv } from './timeSkipping';

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
  return { ...fast, campaigns: campaigns! };
}
