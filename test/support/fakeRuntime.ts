// An in-process fake of the container runtime, for the engine-only campaign benchmark (and unit tests):
// the same activity names and contracts as the Docker activities, over a Map instead of a Docker engine.
// Instances are healthy at once; an image whose tag contains "broken" never is. Never used by the
// product or by integration tests.
import { failure } from '../../src/lib/failures';
import type { DockerActivities } from '../../src/activities/dockerActivities';
import type { ObservedInstance, ServiceObservation } from '../../src/activities/types';
import { activeContainerName, imageVersion, instanceSpecHash } from '../../src/record/identity';

export function createFakeRuntimeActivities() {
  /** Containers by name. */
  const containers = new Map<string, ObservedInstance & { cloud: string; service: string; image: string }>();
  let ids = 0;
  const fakes: Partial<DockerActivities> & Record<string, unknown> = {
    async preflightService() {},
    async observeService(input: { cloud: string; service: string }): Promise<ServiceObservation> {
      const out: ServiceObservation = { active: {}, retired: [] };
      for (const c of containers.values()) {
        if (c.cloud !== input.cloud || c.service !== input.service) continue;
        const { cloud: _cloud, service: _service, image: _image, ...observed } = c;
        if (c.name === activeContainerName(c.cloud, c.service, c.instance)) out.active[c.instance] = observed;
        else out.retired.push(observed);
      }
      return out;
    },
    async retireInstance(input) {
      const name = activeContainerName(input.ref.cloud, input.ref.service, input.ref.instance);
      const retiredName = `${name}--retired-r${input.revision}`;
      const active = containers.get(name);
      if (!active || active.revision === input.revision) {
        const kept = containers.get(retiredName);
        return { retiredName: kept ? retiredName : null, containerId: kept?.containerId ?? null };
      }
      containers.delete(name);
      containers.set(retiredName, { ...active, name: retiredName, running: false });
      return { retiredName, containerId: active.containerId };
    },
    async startInstance(input) {
      const name = activeContainerName(input.ref.cloud, input.ref.service, input.ref.instance);
      const existing = containers.get(name);
      if (existing) return { containerId: existing.containerId, name };
      const containerId = `fake-${++ids}`;
      containers.set(name, {
        cloud: input.ref.cloud,
        service: input.ref.service,
        image: input.service.image,
        instance: input.ref.instance,
        containerId,
        name,
        running: true,
        specHash: instanceSpecHash(input.service, input.instance),
        revision: input.revision,
        version: imageVersion(input.service.image),
      });
      return { containerId, name };
    },
    async waitHealthy(input) {
      const c = containers.get(activeContainerName(input.ref.cloud, input.ref.service, input.ref.instance));
      if (!c || c.image.includes('broken'))
        throw failure(
          'HEALTH_GATE_FAILED',
          `instance ${input.ref.service}/${input.ref.instance} failed its health gate (fake runtime)`,
        );
      return { elapsedMs: 0, attempts: 1, lastResponse: '200 OK (fake)' };
    },
    async bakeInstance() {
      return { bakedMs: 0 };
    },
    async restoreInstance(input) {
      const name = activeContainerName(input.ref.cloud, input.ref.service, input.ref.instance);
      const active = containers.get(name);
      if (active && active.revision !== input.revision)
        return { outcome: 'already-restored', containerId: active.containerId };
      containers.delete(name);
      const kept = input.retiredName ? containers.get(input.retiredName) : undefined;
      if (kept && input.retiredName) {
        containers.delete(input.retiredName);
        containers.set(name, { ...kept, name, running: true });
        return { outcome: 'kept-container-restarted', containerId: kept.containerId };
      }
      return { outcome: 'removed', containerId: null };
    },
    async commitInstance(input) {
      containers.delete(input.retiredName);
    },
  };
  return { activities: fakes, containers };
}
