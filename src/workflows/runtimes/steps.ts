// What each runtime records to put a unit back, and where a service's runtime is: the shapes travel
// in workflow histories (rollout results, revert inputs), so they stay as older versions wrote them.
import type { InstanceRef, K8sRestoreInput, LbTarget } from '../../activities/types';
import type {
  DockerHostSpec,
  InstanceSpec,
  KubernetesRuntimeSpec,
  LoadBalancerSpec,
  ServiceSpec,
} from '../../record/schema';

/** Docker: how to put one replaced instance back. */
export interface InstanceCompensation {
  ref: InstanceRef;
  port: number;
  retiredName: string | null;
  previous: { service: ServiceSpec; instance: InstanceSpec; revision: number } | null;
  /** The load-balancer server drained for this instance: put back once the instance is restored. */
  lb?: LbTarget | null;
}

/** Kubernetes: how to put a service's Deployment back. */
export interface KubernetesCompensation {
  kubernetes: K8sRestoreInput;
}

/** One entry of a rollout's compensation stack, on whichever runtime. */
export type CompensationStep = InstanceCompensation | KubernetesCompensation;

export function isKubernetesStep(step: CompensationStep): step is KubernetesCompensation {
  return 'kubernetes' in step;
}

/**
 * Where a service runs, as a rollout input carries it: the hosts of the cloud (Docker), or the
 * Kubernetes namespace when set. Field names are those older histories hold.
 */
export interface RuntimeTarget {
  hosts: DockerHostSpec[];
  loadBalancers: LoadBalancerSpec[];
  /** Set when the cloud runs on Kubernetes: the service is a Deployment there. */
  kubernetes?: KubernetesRuntimeSpec;
}
