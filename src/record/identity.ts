// Names and labels that tie runtime objects back to the record. Pure: used by workflows, activities and CLI.
import { configForHash } from './configFiles';
import type { InstanceSpec, ServiceSpec } from './schema';
import type { TemplateValues } from './template';

export const LABEL = {
  managed: 'io.patchbay.managed',
  cloud: 'io.patchbay.cloud',
  service: 'io.patchbay.service',
  instance: 'io.patchbay.instance',
  version: 'io.patchbay.version',
  revision: 'io.patchbay.revision',
  specHash: 'io.patchbay.spec-hash',
  /** What config files a container was given: path -> short sha256 (drift detection; stays on the host). */
  configDigest: 'io.patchbay.config-digest',
  /** On one-off job containers (db_sync…), which are not instances. */
  job: 'io.patchbay.job',
  /** Set by tests so a crashed run's leftovers can be found and removed. */
  test: 'io.patchbay.test',
} as const;

/** Stable instance identity: reordering instances in the record does not replace them. */
export function instanceId(instance: InstanceSpec): string {
  return `${instance.host}-${instance.port}`;
}

/** The name of the container that serves an instance. */
export function activeContainerName(cloud: string, service: string, instance: string): string {
  return `pb-${cloud}-${service}-${instance}`;
}

/** The name an old container is kept under, stopped, until its service change is committed. */
export function retiredContainerName(
  cloud: string,
  service: string,
  instance: string,
  revision: number,
): string {
  return `${activeContainerName(cloud, service, instance)}--retired-r${revision}`;
}

/** "repo/name:1.2" -> "1.2"; "repo/name@sha256:abcd..." -> "sha256:abcd…" (short). */
export function imageVersion(image: string): string {
  const at = image.indexOf('@');
  if (at >= 0) return image.slice(at + 1, at + 1 + 19);
  const slash = image.lastIndexOf('/');
  const colon = image.lastIndexOf(':');
  return colon > slash ? image.slice(colon + 1) : 'latest';
}

/** True when an image reference names a tag or a digest explicitly (":latest" counts as a tag). */
export function imageHasTagOrDigest(image: string): boolean {
  if (image.includes('@sha256:')) return true;
  const slash = image.lastIndexOf('/');
  const colon = image.lastIndexOf(':');
  return colon > slash && colon < image.length - 1;
}

/** Canonical JSON: object keys sorted, so equal specs give equal strings. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** FNV-1a 64-bit, hex. Deterministic and dependency-free (workflow code cannot use node:crypto). */
export function fnv1a64(text: string): string {
  let hash = 0xcbf29ce484222325n;
  const prime = 0x100000001b3n;
  for (let i = 0; i < text.length; i++) {
    hash ^= BigInt(text.charCodeAt(i));
    hash = (hash * prime) & 0xffffffffffffffffn;
  }
  return hash.toString(16).padStart(16, '0');
}

/**
 * Hash of everything that shapes one instance's container. Two containers with the same hash are
 * interchangeable; a different hash means the instance must be replaced. Health and upgrade policy
 * are deliberately left out: changing them does not require restarting anything.
 */
export function instanceSpecHash(service: ServiceSpec, instance: InstanceSpec): string {
  return fnv1a64(
    canonicalJson({
      image: service.image,
      env: service.env,
      secretEnv: service.secretEnv,
      command: service.command ?? null,
      volumes: service.volumes,
      config: configForHash(service),
      host: instance.host,
      port: instance.port,
    }),
  );
}

/**
 * The task queue a host's agent polls: one per cloud and host, so an agent serves exactly one host
 * (cf. Temporal's worker-specific task queues).
 */
export function agentTaskQueue(cloud: string, host: string): string {
  return `patchbay-agent:${cloud}:${host}`;
}

/** What the placeholders of a service's templates stand for on one Docker instance (template.ts). */
export function instanceTemplateValues(service: ServiceSpec, instance: InstanceSpec): TemplateValues {
  return {
    port: String(instance.port),
    host: instance.host,
    instance: instanceId(instance),
    service: service.name,
  };
}

/** The spec hash of a Kubernetes service: everything that goes into its Deployment. */
export function kubernetesSpecHash(service: ServiceSpec): string {
  // Jobs and migrations run beside the Deployment, not in it: changing them alone rolls no pod.
  const {
    jobs: _jobs,
    migrations: _migrations,
    dependsOn: _dependsOn,
    config: _config,
    ...deployed
  } = service;
  return fnv1a64(canonicalJson({ ...deployed, config: configForHash(service) }));
}
