// What a change does to a service, from the recorded and target specs and what actually runs.
// Pure: the workflow decides with it, and `patchbay plan` shows the same answer beforehand.
import { instanceId, instanceSpecHash, kubernetesSpecHash } from '../record/identity';
import type { InstanceSpec, ServiceSpec } from '../record/schema';
import type { ObservedInstance, ServiceObservation } from '../activities/types';
import type { ServiceAction } from './types';

export function classify(
  target: ServiceSpec | null,
  previous: ServiceSpec | null,
  replacements: number,
  obsolete: number,
  /** Nothing of the service runs or exists (e.g. every container was removed by hand). */
  nothingExists = false,
): ServiceAction {
  if (!target) return obsolete > 0 ? 'remove' : 'unchanged';
  if (replacements === 0 && obsolete === 0) return 'unchanged';
  // With nothing left, it is a fresh start: create-only jobs (bootstrap…) must run again.
  if (!previous || nothingExists) return 'create';
  if (previous.image !== target.image) return 'patch';
  const changed = target.instances.some((i) => {
    const before = previous.instances.find((p) => instanceId(p) === instanceId(i));
    return !before || instanceSpecHash(previous, before) !== instanceSpecHash(target, i);
  });
  return changed || obsolete > 0 ? 'update' : 'repair';
}

/** Whether no container of the service exists at all, serving or kept. */
export function nothingExists(observed: ServiceObservation): boolean {
  return Object.keys(observed.active).length === 0 && observed.retired.length === 0;
}

/** Which instances a change must replace (missing, stopped or different) and which are obsolete. */
export function diffService(
  target: ServiceSpec | null,
  observed: ServiceObservation,
): { replacements: InstanceSpec[]; obsolete: ObservedInstance[] } {
  const replacements = (target?.instances ?? []).filter((instance) => {
    const active = observed.active[instanceId(instance)];
    return (
      !active || !active.running || active.specHash !== instanceSpecHash(target as ServiceSpec, instance)
    );
  });
  const targetIds = new Set((target?.instances ?? []).map(instanceId));
  const obsolete = Object.values(observed.active).filter((a) => !targetIds.has(a.instance));
  return { replacements, obsolete };
}

/** What runs for a service on Kubernetes, as far as deciding a change needs it. */
export interface DeploymentFacts {
  exists: boolean;
  /** The spec hash Patchbay wrote on the Deployment. */
  specHash: string | null;
  /** The image of the spec Patchbay wrote (its annotation). */
  image: string | null;
  /** Its rollout is complete. */
  done: boolean;
}

/** On Kubernetes a service is one Deployment: what a change does to it, from what runs there. */
export function classifyKubernetes(target: ServiceSpec | null, observed: DeploymentFacts): ServiceAction {
  if (!target) return observed.exists ? 'remove' : 'unchanged';
  if (!observed.exists) return 'create';
  if (observed.specHash === kubernetesSpecHash(target)) return observed.done ? 'unchanged' : 'repair';
  return observed.image !== null && observed.image !== target.image ? 'patch' : 'update';
}
