// Kubernetes: the cloud's Deployments in its namespace (read-only), one per service.
import type { KubernetesRuntimeSpec } from '../../record/schema';
import { observeDeployments } from '../observeDeployments';
import { computePlan } from '../plan';
import { kubernetesServices } from '../status';
import type { RuntimeView } from './runtimeView';

export function kubernetesView(cloud: string, runtime: KubernetesRuntimeSpec): RuntimeView {
  return {
    plan: async (record, current) =>
      computePlan(record, current, new Map(), await observeDeployments(cloud, runtime)),
    status: async (record) =>
      kubernetesServices(record.spec.services, await observeDeployments(cloud, runtime)),
  };
}
