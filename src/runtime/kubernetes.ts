// The Kubernetes side of the runtime boundary: API clients for a record's kubeconfig/context, and the
// objects a service becomes there (a Deployment and a Service, labelled like Docker containers).
// @kubernetes/client-node is an ES module: it is loaded on first use, so modules that merely import
// this one (tests, the CLI) do not pay for it.
import type * as K8s from '@kubernetes/client-node';
import { LABEL, imageVersion, kubernetesSpecHash } from '../record/identity';

export { kubernetesSpecHash };
import type { KubernetesRuntimeSpec, ServiceSpec } from '../record/schema';
import { renderTemplate, usesAny, type TemplateValues } from '../record/template';
import {
  PREVIOUS_CONFIG_ANNOTATION,
  configPodParts,
  serviceConfig,
  type ServiceConfig,
} from './kubernetesConfig';

let lib: typeof K8s | undefined;
function k8s(): typeof K8s {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  lib ??= require('@kubernetes/client-node') as typeof K8s;
  return lib;
}

export interface KubeClients {
  server: string;
  apps: K8s.AppsV1Api;
  core: K8s.CoreV1Api;
  batch: K8s.BatchV1Api;
}

const clients = new Map<string, KubeClients>();

export function kubeClients(runtime: KubernetesRuntimeSpec): KubeClients {
  const key = `${runtime.kubeconfig ?? ''}|${runtime.context ?? ''}`;
  let found = clients.get(key);
  if (!found) {
    const { KubeConfig, AppsV1Api, CoreV1Api, BatchV1Api } = k8s();
    const kc = new KubeConfig();
    if (runtime.kubeconfig) kc.loadFromFile(runtime.kubeconfig);
    else kc.loadFromDefault();
    if (runtime.context) kc.setCurrentContext(runtime.context);
    found = {
      server: kc.getCurrentCluster()?.server ?? '(no cluster in kubeconfig)',
      apps: kc.makeApiClient(AppsV1Api),
      core: kc.makeApiClient(CoreV1Api),
      batch: kc.makeApiClient(BatchV1Api),
    };
    clients.set(key, found);
  }
  return found;
}

/** The HTTP status of a Kubernetes API error (404, 403…), or undefined for a transport error. */
export function apiStatus(error: unknown): number | undefined {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
}

/** The API server's own message in a client-node error (its JSON body), else the error's message. */
export function kubeErrorReason(error: unknown): string {
  const body = (error as { body?: unknown }).body;
  if (typeof body === 'string') {
    try {
      return (JSON.parse(body) as { message?: string }).message ?? body;
    } catch {
      return body;
    }
  }
  if (body && typeof body === 'object' && 'message' in body)
    return String((body as { message: unknown }).message);
  return error instanceof Error ? error.message : String(error);
}

/**
 * A failed API call, in words an operator can act on: unreachable, forbidden (RBAC) to do what it
 * tried in that namespace, or the API server's own answer.
 */
export function describeApiError(error: unknown, server: string, namespace: string, doing: string): string {
  const status = apiStatus(error);
  const reason = kubeErrorReason(error);
  if (status === undefined) return `the Kubernetes API server ${server} is unreachable: ${reason}`;
  if (status === 401 || status === 403)
    return `forbidden (HTTP ${status}) on ${server}, namespace ${namespace}: the kubeconfig's user may not ${doing} there (RBAC): ${reason}`;
  return `the Kubernetes API server ${server} answered HTTP ${status}: ${reason}`;
}

export const deploymentName = (cloud: string, service: string): string => `pb-${cloud}-${service}`;
export const secretName = (cloud: string, service: string): string => `pb-${cloud}-${service}-secrets`;
/** A service's config files as its ConfigMap/Secret hold them (null: it has none). */
export const deploymentConfig = (
  cloud: string,
  service: Pick<ServiceSpec, 'name' | 'port' | 'config'>,
): ServiceConfig | null => serviceConfig(cloud, service, deploymentName(cloud, service.name));
/** Annotation with the spec (JSON) the Deployment had before this revision: what compensation restores. */
export const PREVIOUS_ANNOTATION = 'io.patchbay/previous-service-spec';
export const SPEC_ANNOTATION = 'io.patchbay/service-spec';

function labels(cloud: string, service: ServiceSpec, revision: number): Record<string, string> {
  return {
    [LABEL.cloud]: cloud,
    [LABEL.service]: service.name,
    [LABEL.version]: imageVersion(service.image)
      .slice(0, 63)
      .replace(/[^A-Za-z0-9._-]/g, '-'),
    [LABEL.revision]: String(revision),
  };
}

/** Where the pod's own name and node come from: the scheduler decides both, the downward API tells. */
const POD_FIELDS = [
  { name: 'PATCHBAY_POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
  { name: 'PATCHBAY_NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
];

/**
 * What the template placeholders stand for in a pod: port and service are known, the pod's name
 * and node are references Kubernetes expands ($(VAR) in env values and command) from POD_FIELDS.
 */
export function podTemplateValues(service: ServiceSpec): TemplateValues {
  return {
    port: String(service.port),
    service: service.name,
    host: '$(PATCHBAY_NODE_NAME)',
    instance: '$(PATCHBAY_POD_NAME)',
  };
}

/** The container's env: the pod fields first (a $(VAR) reference sees only variables before it). */
function containerEnv(cloud: string, service: ServiceSpec, secretKeys: string[]): K8s.V1EnvVar[] {
  const values = podTemplateValues(service);
  const templates = [...Object.values(service.env), ...(service.command ?? [])];
  return [
    ...(usesAny(templates, ['host', 'instance']) ? POD_FIELDS : []),
    ...Object.entries(service.env).map(([k, v]) => ({ name: k, value: renderTemplate(v, values) })),
    // Secrets stay references here too: a Secret object holds the values.
    ...secretKeys.map((k) => ({
      name: k,
      valueFrom: { secretKeyRef: { name: secretName(cloud, service.name), key: k } },
    })),
  ];
}

/**
 * The Deployment a service becomes: replicas, rolling-update policy, readiness probe from the health
 * check, and its config files mounted. Without config it is exactly what it was before config files
 * existed (no annotation, no volume), so that nothing already running is rolled.
 */
export function deploymentFor(
  cloud: string,
  service: ServiceSpec,
  revision: number,
  extra: {
    previous: ServiceSpec | null;
    testLabels?: Record<string, string>;
    secretKeys: string[];
    config?: ServiceConfig | null;
    /** The config hash the pods mounted before this one (kept by cleanup for a rollback). */
    previousConfigHash?: string | null;
  },
): K8s.V1Deployment {
  const name = deploymentName(cloud, service.name);
  const selector = { [LABEL.cloud]: cloud, [LABEL.service]: service.name };
  const port = service.port as number;
  const config = extra.config ? configPodParts(extra.config) : null;
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name,
      labels: { ...labels(cloud, service, revision), ...extra.testLabels },
      annotations: {
        [SPEC_ANNOTATION]: JSON.stringify(service),
        [PREVIOUS_ANNOTATION]: JSON.stringify(extra.previous),
        [LABEL.specHash]: kubernetesSpecHash(service),
        ...(extra.previousConfigHash ? { [PREVIOUS_CONFIG_ANNOTATION]: extra.previousConfigHash } : {}),
      },
    },
    spec: {
      replicas: service.replicas,
      selector: { matchLabels: selector },
      // The record's health timeout is the rollout's deadline: past it, Kubernetes reports the
      // rollout as failed (Progressing=False, ProgressDeadlineExceeded) and Patchbay rolls back.
      progressDeadlineSeconds: Math.max(1, Math.ceil(service.health.timeout / 1000)),
      minReadySeconds: Math.floor(service.upgrade.bake / 1000),
      revisionHistoryLimit: 3,
      strategy: {
        type: 'RollingUpdate',
        rollingUpdate: { maxUnavailable: service.upgrade.maxUnavailable, maxSurge: service.upgrade.maxSurge },
      },
      template: {
        metadata: {
          labels: { ...selector, [LABEL.revision]: String(revision) },
          ...(config ? { annotations: config.annotations } : {}),
        },
        spec: {
          terminationGracePeriodSeconds: Math.ceil(service.stopGracePeriod / 1000),
          ...(config ? { volumes: config.volumes } : {}),
          containers: [
            {
              name: service.name,
              image: service.image,
              command: service.command?.map((part) => renderTemplate(part, podTemplateValues(service))),
              ports: [{ containerPort: port, name: 'service' }],
              env: containerEnv(cloud, service, extra.secretKeys),
              readinessProbe: {
                httpGet: { path: service.health.http.path, port },
                periodSeconds: Math.max(1, Math.round(service.health.interval / 1000)),
              },
              ...(config ? { volumeMounts: config.mounts } : {}),
            },
          ],
        },
      },
    },
  };
}

export function serviceObjectFor(cloud: string, service: ServiceSpec): K8s.V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: deploymentName(cloud, service.name),
      labels: { [LABEL.cloud]: cloud, [LABEL.service]: service.name },
    },
    spec: {
      selector: { [LABEL.cloud]: cloud, [LABEL.service]: service.name },
      ports: [{ port: service.port as number, targetPort: service.port as number, name: 'service' }],
    },
  };
}

/** Where a rollout stands, from the Deployment's status. */
export interface RolloutStatus {
  generation: number;
  observedGeneration: number;
  replicas: number;
  updated: number;
  ready: number;
  available: number;
  unavailable: number;
  /** Set when Kubernetes gave up (ProgressDeadlineExceeded). */
  failed: string | null;
  /**
   * When that condition was last written (its lastUpdateTime, ISO), so that a wait can tell a failure
   * of its own rollout from one left over by an earlier rollout: the controller keeps a
   * ProgressDeadlineExceeded condition untouched until the Deployment makes progress again.
   */
  failedSince: string | null;
  done: boolean;
  summary: string;
}

export function rolloutStatus(d: K8s.V1Deployment): RolloutStatus {
  const want = d.spec?.replicas ?? 1;
  const s = d.status ?? {};
  const progressing = s.conditions?.find((c) => c.type === 'Progressing');
  const failed =
    progressing?.status === 'False' && progressing.reason === 'ProgressDeadlineExceeded'
      ? (progressing.message ?? 'progress deadline exceeded')
      : null;
  const failedSince = failed ? timeOf(progressing?.lastUpdateTime ?? progressing?.lastTransitionTime) : null;
  const status: Omit<RolloutStatus, 'done' | 'summary'> = {
    generation: d.metadata?.generation ?? 0,
    observedGeneration: s.observedGeneration ?? 0,
    replicas: s.replicas ?? 0,
    updated: s.updatedReplicas ?? 0,
    ready: s.readyReplicas ?? 0,
    available: s.availableReplicas ?? 0,
    unavailable: s.unavailableReplicas ?? 0,
    failed,
    failedSince,
  };
  const done =
    status.observedGeneration >= status.generation &&
    status.updated === want &&
    status.replicas === want &&
    status.available === want &&
    status.unavailable === 0;
  return {
    ...status,
    done,
    summary: `${status.updated}/${want} updated, ${status.ready} ready, ${status.available} available, generation ${status.observedGeneration}/${status.generation}${failed ? `; ${failed}` : ''}`,
  };
}

function timeOf(t: Date | string | undefined): string | null {
  if (!t) return null;
  const d = t instanceof Date ? t : new Date(t);
  return Number.isNaN(d.getTime()) ? String(t) : d.toISOString();
}

/**
 * A failure condition seen when a wait began is stale: it belongs to an earlier rollout (typically
 * the bad one a compensation is undoing), and the controller leaves it in place until the restored
 * Deployment makes progress. Only a failure written after that counts.
 */
export function isFreshFailure(status: RolloutStatus, staleSince: string | null): boolean {
  return status.failed !== null && (staleSince === null || status.failedSince !== staleSince);
}
