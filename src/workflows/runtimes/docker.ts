// Docker: a service is a set of containers, one per instance, on the record's hosts. A unit is one
// instance: its serving container is stopped and kept (renamed) before the new one starts, and put
// back from that kept container (or recreated from the previous spec) on rollback.
import type { InstanceRef, ServiceObservation } from '../../activities/types';
import { agentTaskQueue, instanceId, retiredContainerName } from '../../record/identity';
import type { DockerHostSpec, InstanceSpec, ServiceSpec } from '../../record/schema';
import { onHostQueue, type HostActivities } from '../activityProxies';
import { classify, diffService, nothingExists } from '../classify';
import type { ServiceRolloutInput } from '../types';
import { MIGRATIONS_AGENT_PROTOCOL, REQUIRED_AGENT_PROTOCOL, agentTooOld } from '../../agent/version';
import { failure } from '../../lib/failures';
import type { CompensationStep, InstanceCompensation } from './steps';
import type {
  CompensationRuntime,
  RevisionRuntime,
  RolloutUnit,
  ServiceRuntime,
  StartedUnit,
} from './strategy';

const DEFAULT_STOP_GRACE_MS = 10_000;

/** The task queue that reaches a host: its agent's, or (undefined) the central worker's. */
function queueOf(cloud: string, host: DockerHostSpec): string | undefined {
  // Hosts in histories from before `reach` existed have none: they were reached directly.
  return host.reach === 'agent' ? agentTaskQueue(cloud, host.name) : undefined;
}

/** The activity stubs for a host: on its agent's task queue when it is reached through one. */
export function hostActivities(cloud: string, host: DockerHostSpec | undefined): HostActivities {
  if (!host) return onHostQueue(undefined);
  return onHostQueue(queueOf(cloud, host), host.name, host.pickupTimeout);
}

/** Hosts grouped by the queue that reaches them, in record order; one group per queue. */
function byQueue(
  cloud: string,
  hosts: DockerHostSpec[],
): Array<{ queue: HostActivities; hosts: DockerHostSpec[] }> {
  const groups = new Map<string | undefined, DockerHostSpec[]>();
  for (const host of hosts) {
    const queue = queueOf(cloud, host);
    groups.set(queue, [...(groups.get(queue) ?? []), host]);
  }
  // No host at all still makes one call (as versions before routing did): it answers "nothing".
  if (groups.size === 0) groups.set(undefined, []);
  return [...groups.entries()].map(([queue, members]) => ({
    queue: onHostQueue(queue, members.map((h) => h.name).join(', '), members[0]?.pickupTimeout),
    hosts: members,
  }));
}

function hostsOf(specs: Array<ServiceSpec | null>, hosts: DockerHostSpec[]): DockerHostSpec[] {
  const names = new Set(specs.flatMap((s) => s?.instances.map((i) => i.host) ?? []));
  return hosts.filter((h) => names.has(h.name));
}

export function dockerRevision(cloud: string, hosts: DockerHostSpec[]): RevisionRuntime {
  const groups = byQueue(cloud, hosts);
  return {
    preflight: (services) => {
      // A revision with migrations needs agents that run their phases (JobInput.capture).
      const required = services.some((s) => s.migrations)
        ? MIGRATIONS_AGENT_PROTOCOL
        : REQUIRED_AGENT_PROTOCOL;
      return [
        // An agent host answers first who it is: one too old for these workflows is refused by name.
        ...groups.flatMap((g) =>
          g.hosts[0]?.reach === 'agent'
            ? [
                g.queue.quick.agentHello().then((hello) => {
                  const old = agentTooOld(hello, required);
                  if (old) throw failure('PREFLIGHT_FAILED', `preflight failed, nothing was touched: ${old}`);
                }),
              ]
            : [],
        ),
        ...services.flatMap((service) =>
          groups.map((g) => g.queue.quick.preflightService({ cloud, service, hosts: g.hosts })),
        ),
      ];
    },
  };
}

export function dockerService(input: ServiceRolloutInput): ServiceRuntime {
  const { cloud, service, revision, target, previous } = input;
  const hostByName = new Map(input.hosts.map((h) => [h.name, h]));
  const refOf = (instance: InstanceSpec): InstanceRef => ({
    cloud,
    service,
    instance: instanceId(instance),
    host: hostByName.get(instance.host) as DockerHostSpec,
  });
  const on = (instance: InstanceSpec): HostActivities => hostActivities(cloud, refOf(instance).host);
  let observed: ServiceObservation = { active: {}, retired: [] };
  /** Previous instance specs of the units planned for removal (an obsolete container's instance). */
  const removedSpecs = new Map<string, InstanceSpec>();

  const observe = async (): Promise<ServiceObservation> => {
    const parts = await Promise.all(
      byQueue(cloud, hostsOf([target, previous], input.hosts)).map((g) =>
        g.queue.quick.observeService({ cloud, service, hosts: g.hosts }),
      ),
    );
    return parts.reduce((all, part) => ({
      active: { ...all.active, ...part.active },
      retired: [...all.retired, ...part.retired],
    }));
  };

  // The way back for an instance: its kept container, or its previous spec if that container is gone.
  const previousOf = (id: string): InstanceCompensation['previous'] => {
    const before = previous?.instances.find((p) => instanceId(p) === id);
    const active = observed.active[id];
    return previous && before && active
      ? { service: previous, instance: before, revision: active.revision }
      : null;
  };

  return {
    untouched: 'before any instance was touched',
    async observe() {
      observed = await observe();
      const { replacements, obsolete } = diffService(target, observed);
      const remove: RolloutUnit[] = [];
      for (const gone of obsolete) {
        const before = previous?.instances.find((p) => instanceId(p) === gone.instance);
        // A container of the cloud whose host the records no longer name cannot be reached: left.
        if (!before || !hostByName.has(before.host)) continue;
        removedSpecs.set(gone.instance, before);
        remove.push({ id: gone.instance, retireFirst: true, instance: before });
      }
      return {
        action: classify(target, previous, replacements.length, obsolete.length, nothingExists(observed)),
        replace: replacements.map((instance) => ({
          id: instanceId(instance),
          retireFirst: observed.active[instanceId(instance)] !== undefined,
          instance,
        })),
        remove,
      };
    },
    batchSize: (spec) => spec.upgrade.maxUnavailable,
    compensation: (unit, lb) => {
      const instance = unit.instance as InstanceSpec;
      return {
        ref: refOf(instance),
        port: instance.port,
        retiredName: unit.retireFirst ? retiredContainerName(cloud, service, unit.id, revision) : null,
        previous: previousOf(unit.id),
        lb,
      };
    },
    async retire(unit, spec) {
      const grace = previous?.stopGracePeriod ?? spec.stopGracePeriod;
      const instance = unit.instance as InstanceSpec;
      await on(instance)
        .stopping(grace)
        .retireInstance({ ref: refOf(instance), revision, stopTimeoutMs: grace });
    },
    describeStart: () => undefined,
    async start(unit, spec) {
      const instance = unit.instance as InstanceSpec;
      const started = await on(instance).quick.startInstance({
        ref: refOf(instance),
        service: spec,
        instance,
        revision,
      });
      return { handle: started.containerId };
    },
    async waitHealthy(unit, spec) {
      const instance = unit.instance as InstanceSpec;
      const gated = await on(instance)
        .watching(spec.health.timeout)
        .waitHealthy({ ref: refOf(instance), port: instance.port, health: spec.health });
      return `healthy after ${gated.elapsedMs} ms`;
    },
    async bake(unit, spec, started: StartedUnit) {
      const instance = unit.instance as InstanceSpec;
      await on(instance)
        .watching(spec.upgrade.bake)
        .bakeInstance({
          ref: refOf(instance),
          port: instance.port,
          health: spec.health,
          containerId: started.handle as string,
          bakeMs: spec.upgrade.bake,
        });
    },
    async remove(unit) {
      const before = removedSpecs.get(unit.id) as InstanceSpec;
      const grace = previous?.stopGracePeriod ?? DEFAULT_STOP_GRACE_MS;
      await on(before)
        .stopping(grace)
        .retireInstance({ ref: refOf(before), revision, stopTimeoutMs: grace });
    },
    async runJob(phase, job, spec, capture) {
      const host = hostByName.get(job.host ?? (spec.instances[0] as InstanceSpec).host) as DockerHostSpec;
      return (
        hostActivities(cloud, host)
          .watching(job.timeout)
          // Only a service with config files sends them: inputs of older changes stay as they were.
          .runJob({
            cloud,
            service,
            revision,
            phase,
            job,
            image: spec.image,
            host,
            volumes: spec.volumes,
            ...(Object.keys(spec.config ?? {}).length > 0 ? { config: spec.config } : {}),
            ...(capture ? { capture } : {}),
          })
      );
    },
  };
}

export const dockerCompensation: CompensationRuntime = {
  unitOf: (step) => (step as InstanceCompensation).ref.instance,
  describe: (step) => {
    const { ref } = step as InstanceCompensation;
    return `${ref.service}/${ref.instance}`;
  },
  traffic: (step) => {
    const s = step as InstanceCompensation;
    return s.lb && s.previous ? { cloud: s.ref.cloud, lb: s.lb, health: s.previous.service.health } : null;
  },
  async restore(step: CompensationStep, revision) {
    const s = step as InstanceCompensation;
    const on = hostActivities(s.ref.cloud, s.ref.host);
    const grace = s.previous?.service.stopGracePeriod ?? DEFAULT_STOP_GRACE_MS;
    const restored = await on.stopping(grace).restoreInstance({
      ref: s.ref,
      revision,
      retiredName: s.retiredName,
      previous: s.previous,
    });
    const serving = restored.outcome !== 'removed' && s.previous !== null;
    if (serving && s.previous) {
      const health = s.previous.service.health;
      await on.watching(health.timeout).waitHealthy({ ref: s.ref, port: s.port, health });
    }
    return { detail: restored.outcome, serving };
  },
  commit: (step) => {
    const s = step as InstanceCompensation;
    return s.retiredName === null
      ? null
      : hostActivities(s.ref.cloud, s.ref.host).quick.commitInstance({
          ref: s.ref,
          retiredName: s.retiredName,
        });
  },
};
