// Reads what runs for a cloud from its Docker hosts (read-only), grouped per service, for plan and status.
import type { ObservedInstance, ServiceObservation } from '../activities/types';
import { activeContainerName } from '../record/identity';
import type { DockerHostSpec } from '../record/schema';
import { PatchbayError } from '../lib/errors';
import { dockerForHost, unreachableReason } from '../runtime/dockerClient';
import { listCloudContainers } from '../runtime/observe';

export type CloudObservation = Map<string, ServiceObservation>;

export async function observeCloud(cloud: string, hosts: DockerHostSpec[]): Promise<CloudObservation> {
  const byService: CloudObservation = new Map();
  for (const host of hosts) {
    const unreachable = await unreachableReason(host);
    if (unreachable) {
      throw new PatchbayError(
        'PREFLIGHT_FAILED',
        `host ${host.name} (${host.endpoint}) is unreachable: ${unreachable}`,
      );
    }
    for (const c of await listCloudContainers(dockerForHost(host), cloud)) {
      const observation = byService.get(c.service) ?? { active: {}, retired: [] };
      byService.set(c.service, observation);
      const observed: ObservedInstance = {
        instance: c.instance,
        containerId: c.id,
        name: c.name,
        running: c.running,
        specHash: c.specHash,
        revision: c.revision,
        version: c.version,
      };
      if (c.name === activeContainerName(cloud, c.service, c.instance))
        observation.active[c.instance] = observed;
      else observation.retired.push(observed);
    }
  }
  return byService;
}

export const EMPTY_OBSERVATION: ServiceObservation = { active: {}, retired: [] };
