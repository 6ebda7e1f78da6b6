// The Kubernetes runtime against a real API server (kube-apiserver + controller-manager + scheduler +
// etcd, built from Kubernetes' own modules; KWOK plays the nodes and makes pods ready, except pods of
// the image patchbay/fixture:never-ready). Same record format, same workflows, same guarantees as on
// Docker: a patch touches one Deployment only, a rollout that never becomes available is rolled back
// within the record's deadline, Scenario 2, a killed worker, bad input that touches nothing, and a
// campaign across Docker clouds and Kubernetes namespaces.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CampaignSpecSchema } from '../../src/campaign/spec';
import { CampaignClient } from '../../src/client/campaignClient';
import { PatchbayClient } from '../../src/client/patchbayClient';
import { temporalConfig } from '../../src/lib/config';
import { CloudRecordSchema, type CloudRecordInput } from '../../src/record/schema';
import type { CampaignProgress } from '../../src/workflows/campaignTypes';
import { testEnv } from '../support/env';
import { saveHistories } from '../support/histories';
import { FIXTURE } from '../support/fixtures';
import {
  fixtureRecord,
  removeCloudContainers,
  runCli,
  servedVersions,
  startWorker,
  waitFor,
  writeRecord,
  type WorkerProcess,
} from '../support/harness';
import { startTestCluster, type DeploymentView, type PodView, type TestCluster } from '../support/kube';

jest.setTimeout(300_000);

const QUEUE = 'kubernetes-it';
const run = `${process.pid % 10_000}`;
const NEVER_READY = 'patchbay/fixture:never-ready';
let cluster: TestCluster;
let worker: WorkerProcess;
let client: PatchbayClient;

function k8sRecord(
  cloud: string,
  namespace: string,
  images: Record<string, string>,
  runtime: Partial<{ kubeconfig: string; context: string }> = {},
): CloudRecordInput {
  return {
    apiVersion: 'patchbay/v1',
    kind: 'Cloud',
    metadata: { name: cloud, labels: { runtime: 'kubernetes' } },
    spec: {
      runtime: { kubernetes: { kubeconfig: cluster.kubeconfig, namespace, ...runtime } },
      services: Object.entries(images).map(([name, image], i) => ({
        name,
        image,
        replicas: name === 'keystone' ? 3 : 2,
        port: 5000 + i,
        env: { SERVICE_PORT: '{{port}}' },
        health: { http: { path: '/v3' }, timeout: '12s', interval: '1s' },
        upgrade: { maxUnavailable: 1, maxSurge: 1 },
        jobs:
          name === 'keystone'
            ? { before: [{ name: 'db-sync', command: ['keystone-manage', 'db_sync'] }] }
            : undefined,
      })),
    },
  };
}

const deployments = async (namespace: string) =>
  (await cluster.get<{ items: DeploymentView[] }>(`/apis/apps/v1/namespaces/${namespace}/deployments`)).items;
const pods = async (namespace: string) =>
  (await cluster.get<{ items: PodView[] }>(`/api/v1/namespaces/${namespace}/pods`)).items;

/** Per Deployment: generation, image, available replicas, and the uids of its pods. */
async function view(namespace: string) {
  const all = await pods(namespace);
  return Object.fromEntries(
    (await deployments(namespace)).map((d) => [
      d.metadata.labels['io.patchbay.service'],
      {
        generation: d.metadata.generation,
        image: d.spec.template.spec.containers[0]!.image,
        available: d.status.availableReplicas ?? 0,
        pods: all
          .filter(
            (p) => p.metadata.labels['io.patchbay.service'] === d.metadata.labels['io.patchbay.service'],
          )
          .map((p) => p.metadata.uid)
          .sort(),
      },
    ]),
  );
}

async function apply(record: CloudRecordInput, message: string) {
  const accepted = await client.apply(CloudRecordSchema.parse(record), { message, author: 'jest' });
  return client.waitForChange(record.metadata.name, accepted);
}

interface K8sJobView {
  metadata: { name: string; deletionTimestamp?: string };
  spec: {
    template: {
      spec: {
        containers: Array<{ command: string[]; volumeMounts?: unknown[] }>;
        volumes?: unknown[];
      };
    };
  };
}

const namespaceOf = async (name: string) =>
  cluster.post('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });

beforeAll(async () => {
  cluster = startTestCluster();
  for (const ns of ['pb-a', 'pb-b', 'pb-c', 'pb-m']) await namespaceOf(ns);
  worker = await startWorker(QUEUE);
  client = await PatchbayClient.connect(
    temporalConfig({ TEMPORAL_ADDRESS: testEnv('address'), PATCHBAY_TASK_QUEUE: QUEUE }),
  );
});

afterAll(async () => {
  await client?.close();
  await worker?.stop();
  cluster?.stop();
});

const cloud = `k8s${run}-a`;
const base = () => ({ keystone: FIXTURE.v1, glance: FIXTURE.v1, placement: FIXTURE.v1 });

test('deploy a 3-service record to a namespace: Deployments available, the db-sync Job ran', async () => {
  const result = await apply(k8sRecord(cloud, 'pb-a', base()), 'deploy');
  expect(result.outcome).toBe('applied');
  const v = await view('pb-a');
  expect(Object.keys(v).sort()).toEqual(['glance', 'keystone', 'placement']);
  expect([v.keystone!.available, v.glance!.available, v.placement!.available]).toEqual([3, 2, 2]);
  const last = await client.revision(cloud, result.revision);
  expect(last.services?.find((s) => s.service === 'keystone')?.jobs).toEqual([
    expect.objectContaining({ job: 'db-sync', phase: 'before', exitCode: 0 }),
  ]);
});

test('patch one service: its rolling update runs; the other Deployments keep their generation and pods', async () => {
  const before = await view('pb-a');
  const result = await apply(k8sRecord(cloud, 'pb-a', { ...base(), keystone: FIXTURE.v2 }), 'patch keystone');
  expect(result.outcome).toBe('applied');
  const after = await view('pb-a');
  expect(after.keystone).toMatchObject({ image: FIXTURE.v2, available: 3 });
  expect(after.keystone!.generation).toBeGreaterThan(before.keystone!.generation);
  expect(after.keystone!.pods).not.toEqual(before.keystone!.pods);
  expect(after.glance).toEqual(before.glance);
  expect(after.placement).toEqual(before.placement);
});

test('a rollout that never becomes available is rolled back within the record deadline', async () => {
  const before = await view('pb-a');
  const t0 = Date.now();
  const result = await apply(k8sRecord(cloud, 'pb-a', { ...base(), keystone: NEVER_READY }), 'bad build');
  expect(result.outcome).toBe('rolled-back');
  expect(result.reason).toMatch(/keystone.*did not become available within 12s/);
  expect(Date.now() - t0).toBeLessThan(60_000);
  const after = await view('pb-a');
  expect(after.keystone).toMatchObject({ image: FIXTURE.v2, available: 3 });
  expect(after.glance).toEqual(before.glance);
  expect(after.placement).toEqual(before.placement);
  expect(await client.revision(cloud, result.revision)).toMatchObject({ outcome: 'rolled-back' });
  await saveHistories([
    {
      workflowId: `cloud:${cloud}:r${result.revision}:keystone`,
      file: 'kubernetes-service-rolled-back.json',
    },
  ]);
});

test('onFailure: pause; once Kubernetes itself has given up (ProgressDeadlineExceeded), an operator rollback restores the previous spec', async () => {
  // The restore's wait must not mistake the condition the bad rollout left for a failure of its own:
  // the controller keeps it until the restored Deployment makes progress (CI once hung on this).
  const before = await view('pb-a');
  const record = k8sRecord(cloud, 'pb-a', { ...base(), keystone: NEVER_READY });
  record.spec.services[0]!.upgrade = { maxUnavailable: 1, maxSurge: 1, onFailure: 'pause' };
  const applying = apply(record, 'bad build, paused');
  const waiting = await waitFor(
    'the pause',
    async () => {
      const s = await runCli(['status', cloud, '--json'], QUEUE);
      return s.code === 0 ? (JSON.parse(s.stdout).waitingForOperator ?? undefined) : undefined;
    },
    90_000,
    500,
  );
  expect(waiting).toMatchObject({
    service: 'keystone',
    kind: 'rollout-failed',
    allowed: ['rollback', 'abandon'],
  });
  const timedOut = async () => {
    const d = (await deployments('pb-a')).find(
      (x) => x.metadata.labels['io.patchbay.service'] === 'keystone',
    );
    return d?.status.conditions?.some(
      (c) => c.type === 'Progressing' && c.reason === 'ProgressDeadlineExceeded',
    );
  };
  await waitFor('Kubernetes to report ProgressDeadlineExceeded', timedOut, 60_000, 500);
  expect((await runCli(['resolve', cloud, 'rollback', '-m', 'looked at it'], QUEUE)).code).toBe(0);
  const result = await applying;
  expect(result.outcome).toBe('rolled-back');
  const after = await view('pb-a');
  expect(after.keystone).toMatchObject({ image: FIXTURE.v2, available: 3 });
  expect(after.glance).toEqual(before.glance);
  expect(after.placement).toEqual(before.placement);
});

test('Scenario 2: patchbay rollback takes one service back, through the same path', async () => {
  const before = await view('pb-a');
  const out = await runCli(
    ['rollback', cloud, 'keystone', '-m', 'third party needs the old behaviour'],
    QUEUE,
  );
  expect(out.code).toBe(0);
  const after = await view('pb-a');
  expect(after.keystone).toMatchObject({ image: FIXTURE.v1, available: 3 });
  expect(after.glance).toEqual(before.glance);
  expect(after.placement).toEqual(before.placement);
});

test('kill -9 of the worker mid-rollout: the change finishes, one ReplicaSet serves', async () => {
  // A 4 s minReadySeconds (the record's bake) keeps the rollout going long enough to kill the worker in it.
  const record = k8sRecord(cloud, 'pb-a', { ...base(), glance: FIXTURE.v3 });
  record.spec.services[1]!.upgrade = { maxUnavailable: 1, maxSurge: 1, bake: '4s' };
  const accepted = await client.apply(CloudRecordSchema.parse(record), {
    message: 'patch glance',
    author: 'jest',
  });
  await waitFor(
    'the glance rollout to start',
    async () => (await view('pb-a')).glance?.image === FIXTURE.v3,
    60_000,
  );
  await worker.kill();
  worker = await startWorker(QUEUE);
  const result = await client.waitForChange(cloud, accepted);
  expect(result.outcome).toBe('applied');
  expect((await view('pb-a')).glance).toMatchObject({ image: FIXTURE.v3, available: 2 });
  const sets = (
    await cluster.get<{
      items: Array<{ metadata: { labels: Record<string, string> }; spec: { replicas: number } }>;
    }>('/apis/apps/v1/namespaces/pb-a/replicasets')
  ).items.filter((r) => r.metadata.labels['io.patchbay.service'] === 'glance' && r.spec.replicas > 0);
  expect(sets).toHaveLength(1);
});

test('status and plan read the running Deployments; a Deployment deleted by hand is drift that apply repairs alone', async () => {
  // The record as the kill -9 test left it: glance on v3 with a 4 s bake.
  const record = k8sRecord(cloud, 'pb-a', { ...base(), glance: FIXTURE.v3 });
  record.spec.services[1]!.upgrade = { maxUnavailable: 1, maxSurge: 1, bake: '4s' };
  const file = writeRecord(record);
  const statusOf = async () => {
    const out = await runCli(['status', cloud, '--json'], QUEUE);
    expect(out).toMatchObject({ code: 0 });
    return JSON.parse(out.stdout) as {
      services: Array<{ service: string; deployment: Record<string, unknown> | null; drift: string[] }>;
    };
  };
  const planOf = async () => {
    const out = await runCli(['plan', file, '--json'], QUEUE);
    expect(out).toMatchObject({ code: 0 });
    return (
      JSON.parse(out.stdout) as { services: Array<{ service: string; action: string; drift: string[] }> }
    ).services;
  };

  const status = await statusOf();
  expect(status.services.map((s) => [s.service, s.deployment, s.drift])).toEqual([
    [
      'keystone',
      expect.objectContaining({ runningVersion: 'v1', ready: 3, replicas: 3, rollout: 'complete' }),
      [],
    ],
    [
      'glance',
      expect.objectContaining({ runningVersion: 'v3', ready: 2, replicas: 2, rollout: 'complete' }),
      [],
    ],
    [
      'placement',
      expect.objectContaining({ runningVersion: 'v1', ready: 2, replicas: 2, rollout: 'complete' }),
      [],
    ],
  ]);
  expect((await planOf()).map((s) => [s.service, s.action])).toEqual([
    ['keystone', 'unchanged'],
    ['glance', 'unchanged'],
    ['placement', 'unchanged'],
  ]);

  const placement = (await deployments('pb-a')).find(
    (d) => d.metadata.labels['io.patchbay.service'] === 'placement',
  )!;
  await cluster.delete(`/apis/apps/v1/namespaces/pb-a/deployments/${placement.metadata.name}`);
  await waitFor('the Deployment to go', async () => !(await view('pb-a')).placement, 30_000, 250);
  const drifted = await statusOf();
  expect(drifted.services.find((s) => s.service === 'placement')).toMatchObject({
    deployment: null,
    drift: ['deployment of placement: missing'],
  });
  const plan = await planOf();
  expect(plan.map((s) => [s.service, s.action])).toEqual([
    ['keystone', 'unchanged'],
    ['glance', 'unchanged'],
    ['placement', 'create'],
  ]);
  expect(plan[2]!.drift).toEqual(['deployment of placement: missing']);

  // What plan said is what apply does: placement comes back, the others are not touched.
  const before = await view('pb-a');
  const out = await runCli(['apply', file, '-m', 'repair placement'], QUEUE);
  expect(out.code).toBe(0);
  const after = await view('pb-a');
  expect(after.placement).toMatchObject({ image: FIXTURE.v1, available: 2 });
  expect(after.keystone).toEqual(before.keystone);
  expect(after.glance).toEqual(before.glance);
  expect((await statusOf()).services.flatMap((s) => s.drift)).toEqual([]);
});

/** A kubeconfig like the cluster's, but for an API server nobody listens on. */
function unreachableKubeconfig(): string {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'patchbay-kc-')), 'kubeconfig');
  writeFileSync(
    file,
    readFileSync(cluster.kubeconfig, 'utf8').replace(/https:\/\/127\.0\.0\.1:\d+/, 'https://127.0.0.1:1'),
  );
  return file;
}

test.each([
  [
    'an unreachable API server',
    () => ({ kubeconfig: unreachableKubeconfig() }),
    'pb-a',
    /API server https:\/\/127\.0\.0\.1:1 is unreachable/,
  ],
  ['a missing namespace', () => ({}), 'pb-nosuch', /namespace "pb-nosuch" does not exist/],
  [
    'a user without rights (RBAC)',
    () => ({ context: 'patchbay-test-nobody' }),
    'pb-a',
    /forbidden \(HTTP 403\)/,
  ],
])(
  'bad input, %s: a clear error from apply and plan, exit 1, nothing touched',
  async (_what, runtime, namespace, message) => {
    const before = await view('pb-a');
    const bad = k8sRecord(cloud, namespace, { ...base(), keystone: FIXTURE.v3 }, runtime());
    const out = await runCli(['apply', writeRecord(bad), '-m', 'bad input'], QUEUE);
    expect(out.code).toBe(1);
    expect(`${out.stdout}${out.stderr}`).toMatch(message);
    expect(`${out.stdout}${out.stderr}`).toMatch(/nothing was touched/);
    // plan reads the Deployments too: the same problem, said the same way.
    const plan = await runCli(['plan', writeRecord(bad)], QUEUE);
    expect(plan.code).toBe(1);
    expect(plan.stderr).toMatch(message);
    expect(await view('pb-a')).toEqual(before);
  },
);

test('migrations as Jobs: check, expand before the Deployment changes, contract after; the snapshot is a Job on a hostPath, and without its checksum (KWOK runs no container) the revision stops untouched', async () => {
  const m = `k8s${run}-m`;
  const job = (phase: string) => ({ command: ['migrate', phase], image: FIXTURE.v1 });
  const migrations = (snapshot: boolean) => ({
    database: { service: 'db', name: 'app' },
    check: job('check'),
    expand: job('expand'),
    contract: job('contract'),
    ...(snapshot && {
      snapshot: {
        command: ['mariadb-dump', 'app'],
        directory: '/var/lib/pb-snapshots',
        restore: { command: ['mariadb'] },
      },
    }),
  });
  const withMigrations = (app: string, snapshot: boolean) => {
    const r = k8sRecord(m, 'pb-m', { db: FIXTURE.v1, app });
    Object.assign(r.spec.services[1]!, { dependsOn: ['db'], migrations: migrations(snapshot) });
    return r;
  };
  const created = await apply(withMigrations(FIXTURE.v1, false), 'create with migrations');
  expect(created.outcome).toBe('applied');
  const phases = created.services.find((s) => s.service === 'app')!.migrations!.phases;
  expect(phases.map((p) => [p.stage, p.exitCode])).toEqual([
    ['check-before', 0],
    ['expand', 0],
    ['contract', 0],
    ['check-after', 0],
  ]);
  expect(phases.map((p) => Date.parse(p.startedAt))).toEqual(
    phases.map((p) => Date.parse(p.startedAt)).sort(),
  );
  const before = await view('pb-m');
  // The snapshot's Job, seen while it exists: the script around the record's command, the node's directory.
  const jobs = async () =>
    (await cluster.get<{ items: K8sJobView[] }>('/apis/batch/v1/namespaces/pb-m/jobs')).items;
  const patching = apply(withMigrations(FIXTURE.v2, true), 'patch with a snapshot');
  const snapshotJob = await waitFor(
    'the snapshot Job',
    async () => (await jobs()).find((j) => j.metadata.name.includes('migrate-snapshot')),
    60_000,
    200,
  );
  const pod = snapshotJob.spec.template.spec;
  expect(pod.containers[0]!.command.slice(0, 2)).toEqual(['sh', '-c']);
  expect(pod.containers[0]!.command.slice(-2)).toEqual(['mariadb-dump', 'app']);
  expect(pod.volumes).toEqual([
    { name: 'host-0', hostPath: { path: '/var/lib/pb-snapshots', type: 'DirectoryOrCreate' } },
  ]);
  expect(pod.containers[0]!.volumeMounts).toEqual([{ name: 'host-0', mountPath: '/var/lib/pb-snapshots' }]);
  const patched = await patching;
  expect(patched.outcome).toBe('failed');
  expect(patched.reason).toMatch(/snapshot of app's database printed no checksum/);
  expect(await view('pb-m')).toEqual(before);
  expect((await jobs()).filter((j) => !j.metadata.deletionTimestamp)).toEqual([]);
});

test('a campaign across Docker clouds and Kubernetes namespaces patches them all', async () => {
  const docker = [`k8s${run}-d1`, `k8s${run}-d2`];
  const kube = [
    { name: `k8s${run}-k1`, ns: 'pb-b' },
    { name: `k8s${run}-k2`, ns: 'pb-c' },
  ];
  for (const [i, name] of docker.entries()) {
    await removeCloudContainers(name);
    expect(
      (await apply(fixtureRecord(name, { api: { image: FIXTURE.v1, ports: [18780 + i] } }), 'deploy'))
        .outcome,
    ).toBe('applied');
  }
  for (const k of kube)
    expect((await apply(k8sRecord(k.name, k.ns, { api: FIXTURE.v1 }), 'deploy')).outcome).toBe('applied');

  const campaigns = new CampaignClient(client);
  const spec = CampaignSpecSchema.parse({
    apiVersion: 'patchbay/v1',
    kind: 'Campaign',
    metadata: { name: `k8s${run}-mixed` },
    spec: {
      clouds: { names: [...docker, ...kube.map((k) => k.name)] },
      service: 'api',
      image: FIXTURE.v2,
      waves: [{ size: 1 }, { size: 'rest' }],
      concurrency: 2,
    },
  });
  await campaigns.start(spec, 'jest');
  const p = await waitFor(
    'the campaign',
    async () => {
      const progress: CampaignProgress = await campaigns.progress(spec.metadata.name);
      return ['completed', 'halted', 'aborted'].includes(progress.phase) && progress;
    },
    180_000,
    250,
  );
  expect(p.phase).toBe('completed');
  expect(Object.values(p.outcomes).map((o) => o.status)).toEqual(Array(4).fill('patched'));
  expect(await servedVersions([18780, 18781])).toEqual(['v2', 'v2']);
  for (const k of kube) expect((await view(k.ns)).api).toMatchObject({ image: FIXTURE.v2, available: 2 });
  for (const name of docker) await removeCloudContainers(name);
});
