// Fast checks of how config files become Kubernetes objects: a content-named ConfigMap (a Secret for
// files with secret references), the pod template's volumes, mounts and hash annotation, what
// cleanup keeps, and that a service without config gets the Deployment it got before config existed
// (test/runtime/kubernetesConfig.it.test.ts runs them against a real API server).
import type * as K8s from '@kubernetes/client-node';
import { deploymentConfig, deploymentFor } from '../../src/runtime/kubernetes';
import {
  CONFIG_HASH_ANNOTATION,
  PREVIOUS_CONFIG_ANNOTATION,
  configHashesToKeep,
  configMapFor,
  configSecretFor,
  configSecretRefs,
  previousConfigHash,
  withConfigMounts,
} from '../../src/runtime/kubernetesConfig';
import { Service, type ServiceSpec } from '../../src/record/schema';

const spec = {
  name: 'keystone',
  image: 'patchbay/keystone:22.0.2',
  replicas: 3,
  port: 5000,
  env: { KEYSTONE_PORT: '{{port}}' },
  health: { http: { path: '/v3' } },
};
const plain = Service.parse(spec);
const withConfig = (config: Record<string, unknown>): ServiceSpec => Service.parse({ ...spec, config });
const configured = withConfig({
  '/etc/keystone/keystone.conf': { content: '[DEFAULT]\nbind_port = {{port}}\nname = {{service}}\n' },
  '/etc/keystone/db.conf': {
    content: '[database]\nconnection = mysql://ks:{{ secret "env:KS_DB" }}@db/ks\n',
    mode: '0640',
  },
  '/etc/keystone/logging.conf': { content: '[loggers]\nkeys = root\n', mode: '0600' },
});

test('a service without config files gets exactly the Deployment it got before: no annotation, volume or mount', () => {
  expect(deploymentConfig('east', plain)).toBeNull();
  const d = deploymentFor('east', plain, 7, { previous: null, secretKeys: [] });
  expect(
    deploymentFor('east', plain, 7, {
      previous: null,
      secretKeys: [],
      config: null,
      previousConfigHash: null,
    }),
  ).toEqual(d);
  expect(d.spec!.template.metadata).toEqual({
    labels: { 'io.patchbay.cloud': 'east', 'io.patchbay.service': 'keystone', 'io.patchbay.revision': '7' },
  });
  expect(Object.keys(d.spec!.template.spec!)).toEqual(['terminationGracePeriodSeconds', 'containers']);
  expect(Object.keys(d.metadata!.annotations!).sort()).toEqual([
    'io.patchbay.spec-hash',
    'io.patchbay/previous-service-spec',
    'io.patchbay/service-spec',
  ]);
  expect(JSON.stringify(d.spec)).not.toMatch(/volume|config-hash/i);
});

test('config files are rendered once for all pods, keyed f0, f1… by path; secret files go to a Secret of the same name', () => {
  const config = deploymentConfig('east', configured)!;
  expect(config.name).toMatch(/^pb-east-keystone-config-[0-9a-f]{10}$/);
  expect(config.name).toBe(`pb-east-keystone-config-${config.hash}`);
  // Sorted by path: db.conf (f0), keystone.conf (f1), logging.conf (f2).
  expect(config.plain.map((e) => [e.key, e.path, e.mode])).toEqual([
    ['f1', '/etc/keystone/keystone.conf', 0o644],
    ['f2', '/etc/keystone/logging.conf', 0o600],
  ]);
  expect(config.secret.map((e) => [e.key, e.path, e.mode])).toEqual([['f0', '/etc/keystone/db.conf', 0o640]]);

  const map = configMapFor(config, { 'io.patchbay.test': 'run1' })!;
  expect(map).toMatchObject({
    kind: 'ConfigMap',
    immutable: true,
    metadata: {
      name: config.name,
      labels: {
        'io.patchbay.managed': 'true',
        'io.patchbay.cloud': 'east',
        'io.patchbay.service': 'keystone',
        'io.patchbay.config-hash': config.hash,
        'io.patchbay.test': 'run1',
      },
    },
  });
  expect(map.data).toEqual({
    f1: '[DEFAULT]\nbind_port = 5000\nname = keystone\n',
    f2: '[loggers]\nkeys = root\n',
  });

  const resolved: string[] = [];
  const secret = configSecretFor(config, (ref, key) => {
    resolved.push(`${ref} ${key}`);
    return 's3cret';
  })!;
  expect(resolved).toEqual(['env:KS_DB in config file /etc/keystone/db.conf']);
  expect(secret).toMatchObject({ kind: 'Secret', metadata: { name: config.name } });
  expect(secret.stringData).toEqual({ f0: '[database]\nconnection = mysql://ks:s3cret@db/ks\n' });
  // The ConfigMap, the name and the hash hold the reference, never a value.
  expect(JSON.stringify([map, config.plain, config.name])).not.toContain('s3cret');
  expect(configSecretRefs(configured)).toEqual([
    { ref: 'env:KS_DB', key: 'in config file /etc/keystone/db.conf' },
  ]);
});

test('the pod template mounts each file at its path (subPath) with its mode, and carries the config hash', () => {
  const config = deploymentConfig('east', configured)!;
  const d = deploymentFor('east', configured, 8, {
    previous: null,
    secretKeys: [],
    config,
    previousConfigHash: 'abcdef0123',
  });
  expect(d.metadata!.annotations![PREVIOUS_CONFIG_ANNOTATION]).toBe('abcdef0123');
  expect(d.spec!.template.metadata!.annotations).toEqual({ [CONFIG_HASH_ANNOTATION]: config.hash });
  expect(d.spec!.template.spec!.volumes).toEqual([
    {
      name: 'pb-config',
      configMap: {
        name: config.name,
        items: [
          { key: 'f1', path: 'f1', mode: 0o644 },
          { key: 'f2', path: 'f2', mode: 0o600 },
        ],
      },
    },
    {
      name: 'pb-config-secret',
      secret: { secretName: config.name, items: [{ key: 'f0', path: 'f0', mode: 0o640 }] },
    },
  ]);
  expect(d.spec!.template.spec!.containers[0]!.volumeMounts).toEqual([
    { name: 'pb-config', mountPath: '/etc/keystone/keystone.conf', subPath: 'f1', readOnly: true },
    { name: 'pb-config', mountPath: '/etc/keystone/logging.conf', subPath: 'f2', readOnly: true },
    { name: 'pb-config-secret', mountPath: '/etc/keystone/db.conf', subPath: 'f0', readOnly: true },
  ]);
  // Only secret files: no ConfigMap, no empty volume.
  const onlySecret = deploymentConfig(
    'east',
    withConfig({ '/etc/x.conf': { content: 'pw = {{ secret "file:/run/pw" }}\n' } }),
  )!;
  expect(configMapFor(onlySecret)).toBeNull();
  const od = deploymentFor('east', plain, 1, { previous: null, secretKeys: [], config: onlySecret });
  expect(od.spec!.template.spec!.volumes!.map((v) => v.name)).toEqual(['pb-config-secret']);
});

test('the config name follows content, mode and path; the port and service fill placeholders; the cloud keeps names apart', () => {
  const base = deploymentConfig('east', configured)!;
  const hashOf = (s: ServiceSpec, cloud = 'east') => deploymentConfig(cloud, s)!.hash;
  expect(hashOf(configured)).toBe(base.hash); // deterministic
  const file = { content: '[DEFAULT]\nbind_port = {{port}}\n' };
  const a = withConfig({ '/etc/a.conf': file });
  expect(hashOf(withConfig({ '/etc/a.conf': { ...file, mode: '0600' } }))).not.toBe(hashOf(a));
  expect(hashOf(withConfig({ '/etc/b.conf': file }))).not.toBe(hashOf(a));
  expect(hashOf(Service.parse({ ...spec, port: 5001, config: { '/etc/a.conf': file } }))).not.toBe(hashOf(a));
  // An image change alone keeps the config (and its objects).
  expect(hashOf({ ...a, image: 'patchbay/keystone:23' })).toBe(hashOf(a));
  expect(deploymentConfig('west', a)!.name).toMatch(/^pb-west-keystone-config-/);
});

test('the previous config noted on the Deployment, and what cleanup keeps: the mounted config and the one before', () => {
  const deployment = (mounted: string | null, previous: string | null): K8s.V1Deployment => ({
    metadata: { annotations: previous ? { [PREVIOUS_CONFIG_ANNOTATION]: previous } : {} },
    spec: {
      selector: {},
      template: { metadata: mounted ? { annotations: { [CONFIG_HASH_ANNOTATION]: mounted } } : {} },
    },
  });
  const a = deploymentConfig('east', configured)!;
  const b = deploymentConfig('east', withConfig({ '/etc/b.conf': { content: 'b' } }))!;
  expect(previousConfigHash(null, a)).toBeNull(); // a new Deployment
  expect(previousConfigHash(deployment(null, null), null)).toBeNull(); // no config, ever
  expect(previousConfigHash(deployment(a.hash, null), b)).toBe(a.hash); // config changed
  expect(previousConfigHash(deployment(b.hash, a.hash), b)).toBe(a.hash); // image-only change: kept
  expect(previousConfigHash(deployment(b.hash, a.hash), null)).toBe(b.hash); // config dropped
  expect(previousConfigHash(deployment(null, b.hash), null)).toBe(b.hash);

  expect(configHashesToKeep(deployment(b.hash, a.hash))).toEqual([b.hash, a.hash]);
  expect(configHashesToKeep(deployment(b.hash, null))).toEqual([b.hash]);
  expect(configHashesToKeep(deployment(null, null))).toEqual([]); // cleanup makes no call at all
});

test("a job's pod mounts the same objects as the service's pods; without config its pod is left as it was", () => {
  const pod: K8s.V1PodSpec = {
    restartPolicy: 'Never',
    containers: [
      { name: 'db-sync', image: 'patchbay/keystone:22.0.2', command: ['keystone-manage', 'db_sync'] },
    ],
  };
  expect(withConfigMounts(pod, null)).toBe(pod);
  const config = deploymentConfig('east', configured)!;
  const d = deploymentFor('east', configured, 8, { previous: null, secretKeys: [], config });
  const job = withConfigMounts(pod, config);
  expect(job.volumes).toEqual(d.spec!.template.spec!.volumes);
  expect(job.containers[0]!.volumeMounts).toEqual(d.spec!.template.spec!.containers[0]!.volumeMounts);
  expect(job.containers[0]!.command).toEqual(['keystone-manage', 'db_sync']);
  expect(pod.volumes).toBeUndefined(); // not changed in place
});
