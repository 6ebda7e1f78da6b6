// The one place a runtime is chosen: from the record (a revision, a service's rollout input) or from
// a compensation step. Everything else in the workflows talks to the interfaces in strategy.ts.
import type { CloudRecord } from '../../record/schema';
import type { ServiceRolloutInput } from '../types';
import { dockerCompensation, dockerRevision, dockerService } from './docker';

export { hostActivities } from './docker';
import { kubernetesCompensation, kubernetesRevision, kubernetesService } from './kubernetes';
import { isKubernetesStep, type CompensationStep, type RuntimeTarget } from './steps';
import type { CompensationRuntime, RevisionRuntime, ServiceRuntime } from './strategy';

export type { CompensationStep, RuntimeTarget } from './steps';
export type { CompensationRuntime, Report, RevisionRuntime, RolloutUnit, ServiceRuntime } from './strategy';

export function serviceRuntime(input: ServiceRolloutInput): ServiceRuntime {
  return input.kubernetes
    ? kubernetesService({ ...input, kubernetes: input.kubernetes })
    : dockerService(input);
}

export function compensationRuntime(step: CompensationStep): CompensationRuntime {
  return isKubernetesStep(step) ? kubernetesCompensation : dockerCompensation;
}

/**
 * Where a revision's services run: the new record's runtime, with the hosts and balancers of the
 * previous one kept too (a removed service is taken down where it ran).
 */
export function runtimeTarget(to: CloudRecord, from: CloudRecord | null): RuntimeTarget {
  const hosts = new Map((from?.spec.runtime.docker.hosts ?? []).map((h) => [h.name, h]));
  for (const h of to.spec.runtime.docker.hosts) hosts.set(h.name, h); // the new record's view wins
  const balancers = from?.spec.loadBalancers ?? [];
  return {
    hosts: [...hosts.values()],
    loadBalancers: [
      ...to.spec.loadBalancers,
      ...balancers.filter((lb) => !to.spec.loadBalancers.some((t) => t.name === lb.name)),
    ],
    kubernetes: to.spec.runtime.kubernetes,
  };
}

export function revisionRuntime(cloud: string, target: RuntimeTarget): RevisionRuntime {
  return target.kubernetes
    ? kubernetesRevision(cloud, target.kubernetes)
    : dockerRevision(cloud, target.hosts);
}
