// Config files on Kubernetes against a real API server (scripts/k8s-cluster.sh), through the real
// worker and workflows: a config change rolls only its service's Deployment (the files in a ConfigMap
// named after their content, mounted file by file); a file with a secret reference goes into a
// Secret, resolved by the activity, its value in no ConfigMap, Deployment or workflow history;
// cleanup keeps the current and the previous config; an unchanged record changes nothing; a
// rollback to an earlier revision, or a failed rollout's compensation, brings its files back.
import { Client, Connection } from '@temporalio/client';
import { PatchbayClient } from '../../src/client/patchbayClient';
import { temporalConfig } from '../../src/lib/config';
import { CloudRecordSchema, type CloudRecordInput } from '../../src/record/schema';
import { testEnv } from '../support/env';
import { historyText } from '../support/histories';
import { FIXTURE } from '../support/fixtures';
import { startWorker, type WorkerProcess } from '../support/harness';
import { startTestCluster, type PodView, type TestCluster } from '../support/kube';

jest.setTimeout(300_000);

const QUEUE = 'kubernetes-config-it';
const NS = 'pb-cfg';
const cloud = `k8scfg${process.pid % 10_000}`;
const SECRET = 'ks-db-pa55-never-recorded-91c2';
const SECRET_VAR = 'PATCHBAY_TEST_KS_DB_PASSWORD';
const CONF = '/etc/keystone/keystone.conf';
const DB_CONF = '/etc/keystone/db.conf';
let cluster: TestCluster;
let worker: WorkerProcess;
let client: PatchbayClient;

type Files = Record<string, { content: string; mode?: string }>;

/** keystone with these config files, glance (never any config) beside it. */
function record(files: Files, keystoneImage: string = FIXTURE.v1): CloudRecordInput {
  const service = (name: string, image: string, port: number) => ({
    name,
    image,
    replicas: 2,
    port,
    env: { SERVICE_PORT: '{{port}}' },
    health: { http: { path: '/v3' }, timeout: '12s', interval: '1s' },
    upgrade: { maxUnavailable: 1, maxSurge: 1 },
  });
  return {
    apiVersion: 'patchbay/v1',
    kind: 'Cloud',
    metadata: { name: cloud },
    spec: {
      runtime: { kubernetes: { kubeconfig: cluster.kubeconfig, namespace: NS } },
      services: [
        {
          ...service('keystone', keystoneImage, 5000),
          config: files,
          // A job mounts the same files (the real API server must accept its pod as it does the Deployment's).
          jobs: { before: [{ name: 'db-sync', command: ['keystone-manage', 'db_sync'] }] },
        },
        service('glance', FIXTURE.v1, 9292),
      ],
    },
  };
}

const keystoneConf = (workers: number) => ({
  content: `[DEFAULT]\nbind_port = {{port}}\n\n[eventlet_server]\npublic_workers = ${workers}\n`,
});
const dbConf = {
  content: `[database]\nconnection = mysql://keystone:{{ secret "env:${SECRET_VAR}" }}@db/keystone\n`,
  mode: '0640',
};

interface Deployment {
  metadata: {
    name: string;
    generation: number;
    labels: Record<string, string>;
    annotations: Record<string, string>;
  };
  spec: {
    template: {
      metadata: { annotations?: Record<string, string> };
      spec: {
        volumes?: unknown[];
        containers: Array<{ image: string; volumeMounts?: Array<Record<string, unknown>> }>;
      };
    };
  };
  status: { availableReplicas?: number };
}
interface ConfigObject {
  metadata: { name: string; uid: string; resourceVersion: string; labels: Record<string, string> };
  data?: Record<string, string>;
}

const deployment = async (service: string) =>
  cluster.get<Deployment>(`/apis/apps/v1/namespaces/${NS}/deployments/pb-${cloud}-${service}`);
const configHash = (d: Deployment) => d.spec.template.metadata.annotations?.['io.patchbay/config-hash'];
const selector = `labelSelector=${encodeURIComponent('io.patchbay.config-hash')}`;
const configMaps = async () =>
  (await cluster.get<{ items: ConfigObject[] }>(`/api/v1/namespaces/${NS}/configmaps?${selector}`)).items;
const secrets = async () =>
  (await cluster.get<{ items: ConfigObject[] }>(`/api/v1/namespaces/${NS}/secrets?${selector}`)).items;
const hashes = (objects: ConfigObject[]) =>
  objects.map((o) => o.metadata.labels['io.patchbay.config-hash']).sort();

/** Per service: generation, config hash, available replicas and its pods' uids. */
async function view() {
  const pods = (await cluster.get<{ items: PodView[] }>(`/api/v1/namespaces/${NS}/pods`)).items;
  const of = async (service: string) => {
    const d = await deployment(service);
    return {
      generation: d.metadata.generation,
      config: configHash(d) ?? null,
      available: d.status.availableReplicas ?? 0,
      pods: pods
        .filter((p) => p.metadata.labels['io.patchbay.service'] === service)
        .map((p) => p.metadata.uid)
        .sort(),
    };
  };
  return { keystone: await of('keystone'), glance: await of('glance') };
}

async function apply(r: CloudRecordInput, message: string) {
  const accepted = await client.apply(CloudRecordSchema.parse(r), { message, author: 'jest' });
  return client.waitForChange(cloud, accepted);
}

/** Every string and payload (decoded) of a workflow's history, as one text to search. */
async function workflowHistoryText(workflowId: string): Promise<string> {
  const connection = await Connection.connect({ address: testEnv('address') });
  try {
    return historyText(await new Client({ connection }).workflow.getHandle(workflowId).fetchHistory());
  } finally {
    await connection.close();
  }
}

beforeAll(async () => {
  cluster = startTestCluster();
  await cluster.post('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  worker = await startWorker(QUEUE, { [SECRET_VAR]: SECRET });
  client = await PatchbayClient.connect(
    temporalConfig({ TEMPORAL_ADDRESS: testEnv('address'), PATCHBAY_TASK_QUEUE: QUEUE }),
  );
});

afterAll(async () => {
  await client?.close();
  await worker?.stop();
  cluster?.stop();
});

/** Config hashes by revision, as the tests go. */
const seen: Record<string, string> = {};

interface JobView {
  metadata: { name: string };
  spec: { template: { spec: { volumes?: unknown[]; containers: Array<{ volumeMounts?: unknown[] }> } } };
}

/** Runs `work` while watching for Jobs (deleted once they succeed): the first one seen. */
async function firstJobDuring<T>(work: () => Promise<T>): Promise<{ result: T; job: JobView | undefined }> {
  let job: JobView | undefined;
  let done = false;
  const watching = (async () => {
    while (!done && !job) {
      job = (await cluster.get<{ items: JobView[] }>(`/apis/batch/v1/namespaces/${NS}/jobs`)).items[0];
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  try {
    return { result: await work(), job };
  } finally {
    done = true;
    await watching;
  }
}

test('deploy: the files in a ConfigMap named after them, mounted file by file; a service without config has neither', async () => {
  const { result, job } = await firstJobDuring(() => apply(record({ [CONF]: keystoneConf(2) }), 'deploy'));
  expect(result.outcome).toBe('applied');
  const keystone = await deployment('keystone');
  const hash = configHash(keystone)!;
  expect(hash).toMatch(/^[0-9a-f]{10}$/);
  seen.a = hash;
  const name = `pb-${cloud}-keystone-config-${hash}`;
  const [map, ...others] = await configMaps();
  expect(others).toEqual([]);
  expect(map!.metadata).toMatchObject({
    name,
    labels: { 'io.patchbay.cloud': cloud, 'io.patchbay.service': 'keystone', 'io.patchbay.managed': 'true' },
  });
  expect(map!.data).toEqual({ f0: '[DEFAULT]\nbind_port = 5000\n\n[eventlet_server]\npublic_workers = 2\n' });
  expect(keystone.spec.template.spec.volumes).toEqual([
    {
      name: 'pb-config',
      configMap: { name, items: [{ key: 'f0', path: 'f0', mode: 0o644 }], defaultMode: 420 },
    },
  ]);
  expect(keystone.spec.template.spec.containers[0]!.volumeMounts).toEqual([
    { name: 'pb-config', mountPath: CONF, subPath: 'f0', readOnly: true },
  ]);
  // The db-sync Job ran with the same files.
  expect(job?.spec.template.spec.volumes).toEqual(keystone.spec.template.spec.volumes);
  expect(job?.spec.template.spec.containers[0]!.volumeMounts).toEqual(
    keystone.spec.template.spec.containers[0]!.volumeMounts,
  );
  const glance = await deployment('glance');
  expect(glance.spec.template.metadata.annotations).toBeUndefined();
  expect(glance.spec.template.spec.volumes).toBeUndefined();
  expect((await view()).keystone.available).toBe(2);
});

test("a config change alone rolls its service's Deployment; the other keeps its generation and pods", async () => {
  const before = await view();
  const result = await apply(record({ [CONF]: keystoneConf(4) }), 'more workers');
  expect(result.outcome).toBe('applied');
  const after = await view();
  expect(after.keystone.generation).toBeGreaterThan(before.keystone.generation);
  expect(after.keystone.config).not.toBe(before.keystone.config);
  expect(after.keystone.pods).not.toEqual(before.keystone.pods);
  expect(after.keystone.available).toBe(2);
  expect(after.glance).toEqual(before.glance);
  seen.b = after.keystone.config!;
  const maps = await configMaps();
  expect(hashes(maps)).toEqual([seen.a, seen.b].sort()); // the previous one kept for a rollback
  expect(maps.find((m) => m.metadata.labels['io.patchbay.config-hash'] === seen.b)!.data).toEqual({
    f0: '[DEFAULT]\nbind_port = 5000\n\n[eventlet_server]\npublic_workers = 4\n',
  });
  expect((await deployment('keystone')).metadata.annotations['io.patchbay/previous-config-hash']).toBe(
    seen.a,
  );
});

test('a file with a secret reference goes into a Secret, resolved by the activity; its value is nowhere else; older config is cleaned up', async () => {
  const result = await apply(record({ [CONF]: keystoneConf(4), [DB_CONF]: dbConf }), 'database');
  expect(result.outcome).toBe('applied');
  const keystone = await deployment('keystone');
  seen.c = configHash(keystone)!;
  const name = `pb-${cloud}-keystone-config-${seen.c}`;
  const secret = (await secrets()).find((s) => s.metadata.name === name)!;
  // Sorted by path: db.conf is f0 (in the Secret), keystone.conf f1 (in the ConfigMap).
  expect(Object.keys(secret.data!)).toEqual(['f0']);
  expect(Buffer.from(secret.data!.f0!, 'base64').toString()).toBe(
    `[database]\nconnection = mysql://keystone:${SECRET}@db/keystone\n`,
  );
  expect(keystone.spec.template.spec.volumes).toContainEqual({
    name: 'pb-config-secret',
    secret: { secretName: name, items: [{ key: 'f0', path: 'f0', mode: 0o640 }], defaultMode: 420 },
  });
  expect(keystone.spec.template.spec.containers[0]!.volumeMounts).toEqual([
    { name: 'pb-config', mountPath: CONF, subPath: 'f1', readOnly: true },
    { name: 'pb-config-secret', mountPath: DB_CONF, subPath: 'f0', readOnly: true },
  ]);
  const map = (await configMaps()).find((m) => m.metadata.name === name)!;
  expect(Object.keys(map.data!)).toEqual(['f1']);
  expect(JSON.stringify([map, keystone])).not.toContain(SECRET);
  // Activity inputs and results are in the histories: the reference is, the value is not.
  for (const id of [`cloud:${cloud}:r${result.revision}`, `cloud:${cloud}:r${result.revision}:keystone`]) {
    const text = await workflowHistoryText(id);
    expect(text).toContain(`env:${SECRET_VAR}`);
    expect(text).not.toContain(SECRET);
  }
  expect(worker.output()).not.toContain(SECRET);
  // Cleanup: the config of two revisions ago is gone.
  expect(hashes(await configMaps())).toEqual([seen.b, seen.c].sort());
  expect(hashes(await secrets())).toEqual([seen.c]);
});

test('cleanup keeps the current config and the previous one only (ConfigMaps and Secrets)', async () => {
  const result = await apply(record({ [CONF]: keystoneConf(8), [DB_CONF]: dbConf }), 'even more workers');
  expect(result.outcome).toBe('applied');
  seen.d = configHash(await deployment('keystone'))!;
  expect(hashes(await configMaps())).toEqual([seen.c, seen.d].sort());
  expect(hashes(await secrets())).toEqual([seen.c, seen.d].sort());
});

test('an unchanged record changes nothing: no Deployment, ConfigMap or Secret is written', async () => {
  const before = { view: await view(), maps: await configMaps(), secrets: await secrets() };
  const result = await apply(record({ [CONF]: keystoneConf(8), [DB_CONF]: dbConf }), 'again');
  expect(result.outcome).toBe('applied');
  expect(await view()).toEqual(before.view);
  expect(await configMaps()).toEqual(before.maps);
  expect(await secrets()).toEqual(before.secrets);
});

test('a secret the worker cannot resolve stops the change at preflight: nothing is touched', async () => {
  const before = { view: await view(), maps: await configMaps(), secrets: await secrets() };
  const missing = { content: '[database]\nconnection = {{ secret "env:PATCHBAY_TEST_NO_SUCH_VAR" }}\n' };
  const result = await apply(record({ [CONF]: keystoneConf(8), [DB_CONF]: missing }), 'missing secret');
  expect(result.outcome).toBe('failed');
  expect(result.reason).toMatch(
    /nothing was touched.*in config file \/etc\/keystone\/db.conf refers to env:PATCHBAY_TEST_NO_SUCH_VAR/,
  );
  expect(await view()).toEqual(before.view);
  expect(await configMaps()).toEqual(before.maps);
  expect(await secrets()).toEqual(before.secrets);
});

test('a rollback to the first revision brings its files back: its ConfigMap, cleaned up meanwhile, is written again', async () => {
  const before = await view();
  const accepted = await client.rollback(cloud, {
    service: 'keystone',
    toRevision: 1,
    message: 'back to the first config',
    author: 'jest',
  });
  const result = await client.waitForChange(cloud, accepted);
  expect(result.outcome).toBe('applied');
  const after = await view();
  expect(after.keystone).toMatchObject({ config: seen.a, available: 2 });
  expect(after.keystone.generation).toBeGreaterThan(before.keystone.generation);
  expect(after.glance).toEqual(before.glance);
  const maps = await configMaps();
  expect(hashes(maps)).toEqual([seen.a, seen.d].sort()); // current and previous
  expect(maps.find((m) => m.metadata.labels['io.patchbay.config-hash'] === seen.a)!.data).toEqual({
    f0: '[DEFAULT]\nbind_port = 5000\n\n[eventlet_server]\npublic_workers = 2\n',
  });
  expect(hashes(await secrets())).toEqual([seen.d]);
});

test('a rollout with new files that never becomes available is rolled back to the files before', async () => {
  const before = await view();
  const result = await apply(
    record({ [CONF]: keystoneConf(16) }, 'patchbay/fixture:never-ready'),
    'bad build',
  );
  expect(result.outcome).toBe('rolled-back');
  const after = await view();
  expect(after.keystone).toMatchObject({ config: seen.a, available: 2 });
  expect(after.glance).toEqual(before.glance);
  const keystone = await deployment('keystone');
  expect(keystone.spec.template.spec.containers[0]!.image).toBe(FIXTURE.v1);
  expect(keystone.spec.template.spec.volumes).toEqual([
    expect.objectContaining({
      configMap: expect.objectContaining({ name: `pb-${cloud}-keystone-config-${seen.a}` }),
    }),
  ]);
});
