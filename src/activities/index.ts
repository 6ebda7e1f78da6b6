// The activity factory: dependencies in, activity functions out (cf. temporalio/samples-typescript).
import { createCampaignActivities, type CampaignActivityDeps } from './campaignActivities';
import { createCampaignStoreActivities } from './campaignStoreActivities';
import { createDockerActivities, type ActivityDeps } from './dockerActivities';
import { createJobActivities } from './jobActivities';
import { createKubernetesActivities } from './kubernetesActivities';
import { createLbActivities } from './lbActivities';
import { createStoreActivities, type StoreActivityDeps } from './storeActivities';

export type { ActivityDeps } from './dockerActivities';

export function createActivities(deps: ActivityDeps & CampaignActivityDeps & StoreActivityDeps) {
  return {
    ...createDockerActivities(deps),
    ...createJobActivities(deps),
    ...createLbActivities(),
    ...createCampaignActivities(deps),
    ...createKubernetesActivities({ extraLabels: deps.extraLabels }),
    ...createStoreActivities(deps),
    ...createCampaignStoreActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
