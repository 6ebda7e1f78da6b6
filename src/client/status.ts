// `patchbay status`: per service the recorded version and, per instance, what actually runs and
// whether it answers its health check right now.
import { instanceId } from '../record/identity';
import { imageVersion } from '../record/identity';
import type { CloudRecord, ServiceSpec } from '../record/schema';
import type { ActiveChange, OperatorBlock, Revision } from '../workflows/types';
import { EMPTY_OBSERVATION, type CloudObservation } from './observeCloud';
import type { KubernetesObservation } from './observeDeployments';
import type { RuntimeView } from './views/runtimeView';
import { driftOf, kubernetesDriftOf } from './plan';

export interface InstanceStatus {
  instance: string;
  containerId: string | null;
  runningVersion: string | null;
  state: 'running' | 'stopped' | null;
  /** "healthy (200 OK)", "unhealthy (404 Not Found)", "not running" */
  health: string;
}

/** A service on Kubernetes: its Deployment, as the API server reports it. */
export interface DeploymentStatus {
  name: string;
  runningVersion: string | null;
  revision: number | null;
  replicas: number;
  updated: number;
  ready: number;
  available: number;
  /** "complete", "in progress", or "failed: <Kubernetes' message>" */
  rollout: string;
}

export interface CloudStatus {
  cloud: string;
  currentRevision: number | null;
  activeChange: ActiveChange | null;
  /** Set while the running change waits for `patchbay resolve`. */
  waitingForOperator: (OperatorBlock & { service: string }) | null;
  services: Array<{
    service: string;
    recordedVersion: string | null;
    instances: InstanceStatus[];
    /** Kubernetes clouds: the service's Deployment (null when it is missing). */
    deployment?: DeploymentStatus | null;
    drift: string[];
  }>;
}

/** What status starts from: the recorded revision (record store) and the running change (cloud workflow). */
export interface StatusInput {
  cloud: string;
  current: Pick<Revision, 'number' | 'record'> | null;
  active: ActiveChange | null;
}

/** The cloud's status, with what runs read through its runtime's view (./views). */
export async function cloudStatus(
  state: StatusInput,
  view: RuntimeView | null,
  waitingForOperator: CloudStatus['waitingForOperator'] = null,
): Promise<CloudStatus> {
  const record = state.current?.record;
  return {
    cloud: state.cloud,
    currentRevision: state.current?.number ?? null,
    activeChange: state.active,
    waitingForOperator,
    services: record && view ? await view.status(record) : [],
  };
}

/** Per service on Kubernetes: its Deployment as the API server reports it. */
export function kubernetesServices(
  services: ServiceSpec[],
  deployments: KubernetesObservation,
): CloudStatus['services'] {
  return services.map((service) => {
    const d = deployments.get(service.name);
    return {
      service: service.name,
      recordedVersion: imageVersion(service.image),
      instances: [],
      deployment: d
        ? {
            name: d.name,
            runningVersion: d.runningVersion,
            revision: d.revision,
            replicas: service.replicas ?? 0,
            updated: d.rollout.updated,
            ready: d.rollout.ready,
            available: d.rollout.available,
            rollout: d.rollout.failed ? `failed: ${d.rollout.failed}` : d.done ? 'complete' : 'in progress',
          }
        : null,
      drift: kubernetesDriftOf(service.name, service, d),
    };
  });
}

/**
 * Per service on Docker: each instance's container and its health (read from its host), or, for an
 * instance on a host that could not be read, that host and why.
 */
export function dockerServices(
  record: CloudRecord | undefined,
  observed: CloudObservation,
  health: Record<string, string>,
  unreachableHosts: Record<string, string> = {},
  /** Per instance: config files that differ from what its container was given. */
  configDrift: Record<string, string[]> = {},
): CloudStatus['services'] {
  return (record?.spec.services ?? []).map((service) => {
    const observation = observed.get(service.name) ?? EMPTY_OBSERVATION;
    const lost = service.instances.filter((i) => unreachableHosts[i.host] !== undefined);
    const instances = service.instances.map((i): InstanceStatus => {
      const id = instanceId(i);
      const hostDown = unreachableHosts[i.host];
      if (hostDown !== undefined)
        return {
          instance: id,
          containerId: null,
          runningVersion: null,
          state: null,
          health: `host ${i.host} unreachable: ${hostDown}`,
        };
      const active = observation.active[id];
      return {
        instance: id,
        containerId: active?.containerId ?? null,
        runningVersion: active?.version ?? null,
        state: active ? (active.running ? 'running' : 'stopped') : null,
        health: health[id] ?? 'not running',
      };
    });
    // An unreachable host's instances are unknown, not missing: no drift claimed for them.
    const known = { ...service, instances: service.instances.filter((i) => !lost.includes(i)) };
    return {
      service: service.name,
      recordedVersion: imageVersion(service.image),
      instances,
      drift: [
        ...driftOf(known, observation),
        ...known.instances.flatMap((i) =>
          (configDrift[instanceId(i)] ?? []).map(
            (d) => `${instanceId(i)}: config file ${d} since it started`,
          ),
        ),
        ...lost.map((i) => `${instanceId(i)}: host ${i.host} unreachable (${unreachableHosts[i.host]})`),
      ],
    };
  });
}
