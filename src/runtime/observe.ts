// Reads the observed state of a cloud back from the runtime, by label: the runtime is the truth.
import type Docker from 'dockerode';
import type { ObservedInstance, ServiceObservation } from '../activities/types';
import { LABEL, activeContainerName } from '../record/identity';

export interface ObservedContainer {
  id: string;
  name: string;
  image: string;
  cloud: string;
  service: string;
  instance: string;
  version: string;
  revision: number;
  specHash: string;
  running: boolean;
  state: string;
  status: string;
  /** Engine time the container was created (seconds since epoch), stable across restarts. */
  created: number;
  /** Its config-digest label, if it was given config files. */
  configDigest?: string;
}

export async function listCloudContainers(
  docker: Docker,
  cloud: string,
  service?: string,
): Promise<ObservedContainer[]> {
  const label = [`${LABEL.cloud}=${cloud}`];
  if (service) label.push(`${LABEL.service}=${service}`);
  const found = await docker.listContainers({ all: true, filters: { label } });
  // Job containers (db_sync…) are not instances of the service.
  return found
    .filter((c) => !c.Labels[LABEL.job])
    .map((c) => ({
      id: c.Id,
      name: (c.Names[0] ?? '').replace(/^\//, ''),
      image: c.Image,
      cloud: c.Labels[LABEL.cloud] ?? '',
      service: c.Labels[LABEL.service] ?? '',
      instance: c.Labels[LABEL.instance] ?? '',
      version: c.Labels[LABEL.version] ?? '',
      revision: Number(c.Labels[LABEL.revision] ?? 0),
      specHash: c.Labels[LABEL.specHash] ?? '',
      running: c.State === 'running',
      state: c.State,
      status: c.Status,
      created: c.Created,
      ...(c.Labels[LABEL.configDigest] ? { configDigest: c.Labels[LABEL.configDigest] } : {}),
    }));
}

/** Files observed containers into each service's serving (active) and kept (retired) instances. */
export function groupByService(
  containers: ObservedContainer[],
  into: Map<string, ServiceObservation> = new Map(),
): Map<string, ServiceObservation> {
  for (const c of containers) {
    const observation = into.get(c.service) ?? { active: {}, retired: [] };
    into.set(c.service, observation);
    const observed: ObservedInstance = {
      instance: c.instance,
      containerId: c.id,
      name: c.name,
      running: c.running,
      specHash: c.specHash,
      revision: c.revision,
      version: c.version,
    };
    if (c.name === activeContainerName(c.cloud, c.service, c.instance))
      observation.active[c.instance] = observed;
    else observation.retired.push(observed);
  }
  return into;
}
