// The activity factory: dependencies in, activity functions out (cf. temporalio/samples-typescript).
import { createCampaignActivities, type CampaignActivityDeps } from './campaignActivities';
import { createDockerActivities, type ActivityDeps } from './dockerActivities';
import { createJobActivities } from './jobActivities';
import { createKubernetesActivities } from './kubernetesActivities';
import { createLbActivities } from './lbActivities';

export type { ActivityDeps } from './dockerActivities';

export function createActivities(deps: ActivityDeps & CampaignActivityDeps) {
  return {
    ...createDockerActivities(deps),
    ...createJobActivities(deps),
    ...createLbActivities(),
    ...createCampaignActivities(deps),
    ...createKubernetesActivities({ extraLabels: deps.extraLabels }),
  };
}

export type Activities = ReturnType<typeof createActivities>;
