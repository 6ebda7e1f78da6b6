// Reads what runs for a cloud from its Docker hosts (read-only), grouped per service, for plan and status.
import type { ServiceObservation } from '../activities/types';
import type { DockerHostSpec } from '../record/schema';
import { PatchbayError } from '../lib/errors';
import { dockerForHost, unreachableReason } from '../runtime/dockerClient';
import { groupByService, listCloudContainers } from '../runtime/observe';

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
    groupByService(await listCloudContainers(dockerForHost(host), cloud), byService);
  }
  return byService;
}

export const EMPTY_OBSERVATION: ServiceObservation = { active: {}, retired: [] };
