// The activity factory: dependencies in, activity functions out (cf. temporalio/samples-typescript).
import { createCampaignActivities, type CampaignActivityDeps } from './campaignActivities';
import { createDockerActivities, type ActivityDeps } from './dockerActivities';
import { createJobActivities } from './jobActivities';
import { createLbActivities } from './lbActivities';

export type { ActivityDeps } from './dockerActivities';

export function createActivities(deps: ActivityDeps & CampaignActivityDeps) {
  return {
    ...createDockerActivities(deps),
    ...createJobActivities(deps),
    ...createLbActivities(),
    ...createCampaignActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
