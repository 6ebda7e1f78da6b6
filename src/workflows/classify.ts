// What a change does to a service of containers, from the recorded and target specs and what runs
// (where a service is one whole deployment, its runtime classifies it: ./runtimes).
// Pure: the workflow decides with it, and `patchbay plan` shows the same answer beforehand.
import { instanceId, instanceSpecHash } from '../record/identity';
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
