// The activity factory: dependencies in, activity functions out (cf. temporalio/samples-typescript).
import { createDockerActivities, type ActivityDeps } from './dockerActivities';

export type { ActivityDeps } from './dockerActivities';

export function createActivities(deps: ActivityDeps) {
  return { ...createDockerActivities(deps) };
}

export type Activities = ReturnType<typeof createActivities>;
