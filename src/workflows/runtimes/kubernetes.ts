// Kubernetes: a service is one Deployment. Its one unit is written with the new spec and
// Kubernetes' own rolling update replaces the pods (maxUnavailable/maxSurge from the record); the
// health gate is the rollout's status within the record's deadline, and the bake is the
// Deployment's minReadySeconds. On failure the previous spec is put back.
import { quick, watching } from '../activityProxies';
import { kubernetesSpecHash } from '../../record/identity';
import type { KubernetesRuntimeSpec, ServiceSpec } from '../../record/schema';
import type { ServiceAction, ServiceRolloutInput } from '../types';
import type { KubernetesCompensation } from './steps';
import type { CompensationRuntime, RevisionRuntime, ServiceRuntime } from './strategy';

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
export function classifyDeployment(target: ServiceSpec | null, observed: DeploymentFacts): ServiceAction {
  if (!target) return observed.exists ? 'remove' : 'unchanged';
  if (!observed.exists) return 'create';
  if (observed.specHash === kubernetesSpecHash(target)) return observed.done ? 'unchanged' : 'repair';
  return observed.image !== null && observed.image !== target.image ? 'patch' : 'update';
}

export function kubernetesRevision(cloud: string, runtime: KubernetesRuntimeSpec): RevisionRuntime {
  return { preflight: (services) => [quick.k8sPreflight({ cloud, runtime, services })] };
}

export function kubernetesService(
  input: ServiceRolloutInput & { kubernetes: KubernetesRuntimeSpec },
): ServiceRuntime {
  const { cloud, revision, service, previous } = input;
  const t = { runtime: input.kubernetes, cloud, service };
  const unit = { id: `deployment/${service}`, retireFirst: false, instance: null };
  /** What ran before the change: the Deployment's spec as read, or the previous revision's. */
  let before: { spec: ServiceSpec | null; revision: number | null } = { spec: null, revision: null };

  return {
    untouched: 'before the Deployment was touched',
    async observe() {
      const observed = await quick.k8sObserve(t);
      before = {
        spec: observed.spec ?? (observed.exists ? previous : null),
        revision: observed.revision ?? input.previousRevision,
      };
      const action = classifyDeployment(input.target, {
        exists: observed.exists,
        specHash: observed.specHash,
        image: observed.spec?.image ?? null,
        done: observed.status?.done ?? false,
      });
      return {
        action,
        replace: input.target && action !== 'unchanged' ? [unit] : [],
        remove: !input.target && action === 'remove' ? [unit] : [],
      };
    },
    // Kubernetes paces the pods itself: the Deployment is the one unit.
    batchSize: () => 1,
    compensation: (): KubernetesCompensation => ({
      kubernetes: { ...t, revision, previous: before.spec, previousRevision: before.revision },
    }),
    // Kubernetes replaces the pods itself: nothing to stop first.
    retire: async () => undefined,
    describeStart: (target) =>
      `${target.replicas} replicas, maxUnavailable ${target.upgrade.maxUnavailable}, maxSurge ${target.upgrade.maxSurge}`,
    async start(_unit, target, step) {
      const k = (step as KubernetesCompensation).kubernetes;
      const applied = await quick.k8sApply({ ...t, target, revision, previous: k.previous });
      k.previous = applied.previous;
      return { detail: `rollout of generation ${applied.generation}`, handle: applied.generation };
    },
    async waitHealthy(_unit, target, started) {
      const status = await watching(target.health.timeout).k8sWaitRollout({
        ...t,
        generation: started.handle as number,
        timeoutMs: target.health.timeout,
      });
      return status.summary;
    },
    async remove() {
      await quick.k8sRemove(t);
    },
    runJob: (phase, job, spec, capture) =>
      watching(job.timeout).k8sRunJob({
        ...t,
        revision,
        phase,
        job,
        image: spec.image,
        // Only a service with config files sends them: inputs of older changes stay as they were.
        ...(Object.keys(spec.config ?? {}).length > 0 ? { config: spec.config, port: spec.port } : {}),
        ...(capture ? { capture } : {}),
        // Only a snapshot's jobs mount one (records on Kubernetes name no volumes).
        ...(spec.volumes.length > 0 ? { hostPaths: spec.volumes.map((v) => v.source) } : {}),
      }),
  };
}

export const kubernetesCompensation: CompensationRuntime = {
  unitOf: (step) => `deployment/${(step as KubernetesCompensation).kubernetes.service}`,
  describe: (step) => `${(step as KubernetesCompensation).kubernetes.service} (Deployment)`,
  traffic: () => null,
  async restore(step) {
    const k = (step as KubernetesCompensation).kubernetes;
    const restored = await quick.k8sRestore(k);
    if (restored.generation !== null && k.previous) {
      await watching(k.previous.health.timeout).k8sWaitRollout({
        runtime: k.runtime,
        cloud: k.cloud,
        service: k.service,
        generation: restored.generation,
        timeoutMs: k.previous.health.timeout,
      });
    }
    return {
      detail: restored.generation === null ? 'removed' : 'previous spec restored',
      serving: restored.generation !== null,
    };
  },
  // Kubernetes keeps nothing to remove: the old ReplicaSet is its own history.
  commit: () => null,
};
