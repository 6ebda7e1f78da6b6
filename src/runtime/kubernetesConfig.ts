// Config files on Kubernetes: a service's rendered files become one ConfigMap (and, for the files
// that hold secret references, one Secret) named after their content, mounted file by file (subPath)
// at their paths. Content-addressed names make a config change a pod-template change, so the
// Deployment rolls like for a new image and Kubernetes' rollback finds the earlier files unchanged.
// Pure: the activity resolves secret references and talks to the API server.
import { createHash } from 'node:crypto';
import type * as K8s from '@kubernetes/client-node';
import { renderConfigFiles } from '../record/configFiles';
import { LABEL, canonicalJson } from '../record/identity';
import type { ServiceSpec } from '../record/schema';
import { resolveSecretRefs, secretRefsIn } from '../record/template';

/** On the pod template: which config its pods mount (a new value rolls the Deployment). */
export const CONFIG_HASH_ANNOTATION = 'io.patchbay/config-hash';
/** On the Deployment: the config it mounted before, which cleanup keeps for a rollback. */
export const PREVIOUS_CONFIG_ANNOTATION = 'io.patchbay/previous-config-hash';
/** On config ConfigMaps/Secrets: their hash, so cleanup can select them (and leave other objects). */
export const CONFIG_HASH_LABEL = 'io.patchbay.config-hash';

const VOLUME = 'pb-config';
const SECRET_VOLUME = 'pb-config-secret';

/** One file: its key in the ConfigMap or Secret, where it is mounted, its text and mode. */
export interface ConfigEntry {
  key: string;
  path: string;
  /** Placeholders filled; in a secret entry, the secret references still unresolved. */
  content: string;
  mode: number;
}

/** A service's config as Kubernetes objects will hold it. */
export interface ServiceConfig {
  cloud: string;
  service: string;
  hash: string;
  /** The ConfigMap's name, and the Secret's. */
  name: string;
  plain: ConfigEntry[];
  secret: ConfigEntry[];
}

/**
 * A service's config files rendered for its pods (one ConfigMap serves all of them: only {{port}}
 * and {{service}}, as validation enforces), or null when it has none. `owner` names the Deployment
 * the objects belong to: two clouds may share a namespace.
 */
export function serviceConfig(
  cloud: string,
  service: Pick<ServiceSpec, 'name' | 'port' | 'config'>,
  owner: string,
): ServiceConfig | null {
  const files = renderConfigFiles(service, { port: String(service.port), service: service.name });
  if (files.length === 0) return null;
  const entries = files.map((f, i) => ({ key: `f${i}`, path: f.path, content: f.content, mode: f.mode }));
  // The hash of the files as rendered, references unresolved: no secret value goes into a name.
  const hash = createHash('sha256')
    .update(canonicalJson(entries.map(({ path, content, mode }) => ({ path, content, mode }))))
    .digest('hex')
    .slice(0, 10);
  return {
    cloud,
    service: service.name,
    hash,
    name: `${owner}-config-${hash}`,
    plain: entries.filter((e) => secretRefsIn(e.content).length === 0),
    secret: entries.filter((e) => secretRefsIn(e.content).length > 0),
  };
}

/** The secret references of a service's config files, with what to call each in an error. */
export function configSecretRefs(service: ServiceSpec): Array<{ ref: string; key: string }> {
  return renderConfigFiles(service, {}).flatMap((f) =>
    secretRefsIn(f.content).map((ref) => ({ ref, key: `in config file ${f.path}` })),
  );
}

/** Labels of a config object: the service's, plus its hash (cleanup selects on it). */
export function configLabels(config: ServiceConfig, extra: Record<string, string>): Record<string, string> {
  return {
    [LABEL.managed]: 'true',
    [LABEL.cloud]: config.cloud,
    [LABEL.service]: config.service,
    [CONFIG_HASH_LABEL]: config.hash,
    ...extra,
  };
}

/** The selector of every config object of a service (all hashes). */
export function configSelector(cloud: string, service: string): string {
  return `${LABEL.cloud}=${cloud},${LABEL.service}=${service},${CONFIG_HASH_LABEL}`;
}

/** The ConfigMap of the files without secrets, or null when every file has one. */
export function configMapFor(
  config: ServiceConfig,
  extra: Record<string, string> = {},
): K8s.V1ConfigMap | null {
  if (config.plain.length === 0) return null;
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: config.name, labels: configLabels(config, extra) },
    // Its name is its content: it never changes (and the kubelet need not watch it).
    immutable: true,
    data: Object.fromEntries(config.plain.map((e) => [e.key, e.content])),
  };
}

/**
 * The Secret of the files with secret references, resolved by `resolve` (the activity's, on the
 * worker), or null when there are none. The caller must keep it out of results, errors and logs.
 */
export function configSecretFor(
  config: ServiceConfig,
  resolve: (ref: string, key: string) => string,
  extra: Record<string, string> = {},
): K8s.V1Secret | null {
  if (config.secret.length === 0) return null;
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: config.name, labels: configLabels(config, extra) },
    type: 'Opaque',
    stringData: Object.fromEntries(
      config.secret.map((e) => [
        e.key,
        resolveSecretRefs(e.content, (ref) => resolve(ref, `in config file ${e.path}`)),
      ]),
    ),
  };
}

/** What the pod template gets: the hash annotation, a volume per object, a mount per file. */
export function configPodParts(config: ServiceConfig): {
  annotations: Record<string, string>;
  volumes: K8s.V1Volume[];
  mounts: K8s.V1VolumeMount[];
} {
  const items = (entries: ConfigEntry[]) => entries.map((e) => ({ key: e.key, path: e.key, mode: e.mode }));
  const volumes: K8s.V1Volume[] = [];
  if (config.plain.length)
    volumes.push({ name: VOLUME, configMap: { name: config.name, items: items(config.plain) } });
  if (config.secret.length)
    volumes.push({ name: SECRET_VOLUME, secret: { secretName: config.name, items: items(config.secret) } });
  // subPath: each file lands at its own path; the rest of its directory stays the image's.
  const mount = (volume: string) => (e: ConfigEntry) => ({
    name: volume,
    mountPath: e.path,
    subPath: e.key,
    readOnly: true,
  });
  return {
    annotations: { [CONFIG_HASH_ANNOTATION]: config.hash },
    volumes,
    mounts: [...config.plain.map(mount(VOLUME)), ...config.secret.map(mount(SECRET_VOLUME))],
  };
}

/** A pod spec (a Job's) with the config mounted in each of its containers, as the service's pods have it. */
export function withConfigMounts(pod: K8s.V1PodSpec, config: ServiceConfig | null): K8s.V1PodSpec {
  if (!config) return pod;
  const parts = configPodParts(config);
  return {
    ...pod,
    volumes: [...(pod.volumes ?? []), ...parts.volumes],
    containers: pod.containers.map((c) => ({
      ...c,
      volumeMounts: [...(c.volumeMounts ?? []), ...parts.mounts],
    })),
  };
}

/**
 * The previous config to note on the Deployment written over `current`: the config the current
 * pods mount if it changes, else the one noted before (an image-only change keeps it).
 */
export function previousConfigHash(
  current: K8s.V1Deployment | null,
  next: ServiceConfig | null,
): string | null {
  if (!current) return null;
  const mounted = current.spec?.template.metadata?.annotations?.[CONFIG_HASH_ANNOTATION] ?? null;
  if (mounted !== (next?.hash ?? null)) return mounted;
  return current.metadata?.annotations?.[PREVIOUS_CONFIG_ANNOTATION] ?? null;
}

/** The config hashes cleanup keeps for a Deployment: the one its pods mount and the one before. */
export function configHashesToKeep(d: K8s.V1Deployment): string[] {
  return [
    d.spec?.template.metadata?.annotations?.[CONFIG_HASH_ANNOTATION],
    d.metadata?.annotations?.[PREVIOUS_CONFIG_ANNOTATION],
  ].filter((h): h is string => Boolean(h));
}
