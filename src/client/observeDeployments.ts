// Reads what runs for a Kubernetes cloud (read-only): the Deployments labelled with its name, one per
// service, for `plan` and `status` — the same facts the rollout decides with.
import { LABEL, imageVersion } from '../record/identity';
import type { KubernetesRuntimeSpec } from '../record/schema';
import { PatchbayError } from '../lib/errors';
import {
  SPEC_ANNOTATION,
  apiStatus,
  describeApiError,
  kubeClients,
  kubeErrorReason,
  rolloutStatus,
  type KubeClients,
  type RolloutStatus,
} from '../runtime/kubernetes';
import type { DeploymentFacts } from '../workflows/runtimes/kubernetes';

export interface DeploymentObservation extends DeploymentFacts {
  name: string;
  /** The revision label Patchbay wrote. */
  revision: number | null;
  /** The version of the image the pod template runs (what Kubernetes rolls out). */
  runningVersion: string | null;
  rollout: RolloutStatus;
}

/** Per service name; a Deployment of the cloud that names no service is kept under its own name. */
export type KubernetesObservation = Map<string, DeploymentObservation>;

export const MISSING_DEPLOYMENT: DeploymentFacts = {
  exists: false,
  specHash: null,
  image: null,
  done: false,
};

export async function observeDeployments(
  cloud: string,
  runtime: KubernetesRuntimeSpec,
  kube: (runtime: KubernetesRuntimeSpec) => KubeClients = kubeClients,
): Promise<KubernetesObservation> {
  let c: KubeClients;
  try {
    c = kube(runtime);
  } catch (error) {
    throw new PatchbayError(
      'PREFLIGHT_FAILED',
      `cannot load kubeconfig ${runtime.kubeconfig ?? '(default)'}: ${kubeErrorReason(error)}`,
    );
  }
  const { namespace } = runtime;
  let items;
  try {
    ({ items } = await c.apps.listNamespacedDeployment({
      namespace,
      labelSelector: `${LABEL.cloud}=${cloud}`,
    }));
  } catch (error) {
    throw new PatchbayError(
      'PREFLIGHT_FAILED',
      describeApiError(error, c.server, namespace, 'list Deployments'),
    );
  }
  if (items.length === 0) {
    // An empty list also comes back for a namespace that does not exist: say which it is.
    try {
      await c.core.readNamespace({ name: namespace });
    } catch (error) {
      if (apiStatus(error) === 404)
        throw new PatchbayError('PREFLIGHT_FAILED', `namespace "${namespace}" does not exist on ${c.server}`);
      // Reading namespaces may be forbidden to a user who may list Deployments: not knowing is fine.
    }
  }
  const observed: KubernetesObservation = new Map();
  for (const d of items) {
    const service = d.metadata?.labels?.[LABEL.service] ?? d.metadata?.name ?? '?';
    const image = d.spec?.template?.spec?.containers?.[0]?.image ?? null;
    const rollout = rolloutStatus(d);
    observed.set(service, {
      name: d.metadata?.name ?? '?',
      exists: true,
      revision: Number(d.metadata?.labels?.[LABEL.revision] ?? 0) || null,
      specHash: d.metadata?.annotations?.[LABEL.specHash] ?? null,
      image: writtenImage(d.metadata?.annotations?.[SPEC_ANNOTATION]),
      runningVersion: image ? imageVersion(image) : null,
      done: rollout.done,
      rollout,
    });
  }
  return observed;
}

function writtenImage(annotation: string | undefined): string | null {
  if (!annotation) return null;
  try {
    const image = (JSON.parse(annotation) as { image?: unknown }).image;
    return typeof image === 'string' ? image : null;
  } catch {
    return null;
  }
}
