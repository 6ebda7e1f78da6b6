// Patchbay on a real Temporal cluster (scripts/temporal-cluster.sh: PostgreSQL, frontend, history,
// matching and worker as separate processes, the frontend on mutual TLS), not the dev server:
// `patchbay doctor` and the TLS errors, a patch rolled back automatically and one rolled back on
// demand, a worker killed mid-change, the history service killed mid-change, two workers with one
// killed, and a campaign approved from the `temporal` CLI over mTLS.
import { execFile } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { CampaignClient } from '../../src/client/campaignClient';
import { PatchbayClient } from '../../src/client/patchbayClient';
import { TEMPORAL_BIN, temporalConfig } from '../../src/lib/config';
import { CampaignSpecSchema } from '../../src/campaign/spec';
import { activeContainerName } from '../../src/record/identity';
import { loadRecordFile } from '../../src/record/load';
import { openDb, type Db } from '../../src/store/db';
import { testEnv } from '../support/env';
import { FIXTURE } from '../support/fixtures';
import {
  cloudName,
  fixtureRecord,
  removeCloudContainers,
  runCli,
  servedVersions,
  snapshot,
  startAgent,
  startWorker,
  waitFor,
  writeRecord,
  type WorkerProcess,
} from '../support/harness';
import { startTemporalCluster, type TemporalCluster } from '../support/temporalCluster';

jest.setTimeout(300_000);

const QUEUE = 'cluster-it';
let cluster: TemporalCluster;
let env: Record<string, string>;
let client: PatchbayClient;
let db: Db;
const workers: WorkerProcess[] = [];
const clouds: string[] = [];

const worker = async (): Promise<WorkerProcess> => {
  const w = await startWorker(QUEUE, env);
  workers.push(w);
  return w;
};
const cli = (args: string[], extra: Record<string, string> = {}) => runCli(args, QUEUE, { ...env, ...extra });

/** The `temporal` CLI against the cluster, over mTLS with the cluster's client certificate. */
const temporal = (args: string[]) => {
  const tls = cluster.info().tls;
  return promisify(execFile)(TEMPORAL_BIN, [
    ...args,
    '--address',
    cluster.address,
    '--namespace',
    cluster.namespace,
    '--tls-ca-path',
    tls.ca,
    '--tls-cert-path',
    tls.cert,
    '--tls-key-path',
    tls.key,
    '--tls-server-name',
    tls.serverName,
  ]).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => ({
      code: e.code,
      stdout: e.stdout,
      stderr: e.stderr,
    }),
  );
};

beforeAll(async () => {
  cluster = startTemporalCluster(path.join(os.tmpdir(), `patchbay-cluster-it-${process.pid}`));
  env = { ...cluster.env, PATCHBAY_TASK_QUEUE: QUEUE };
  client = await PatchbayClient.connect(temporalConfig(env));
  db = openDb(testEnv('databaseUrl'));
});
afterAll(async () => {
  for (const w of workers) await w.stop();
  await client?.close();
  await db?.close();
  for (const cloud of clouds) await removeCloudContainers(cloud);
  cluster?.stop();
});

function fixtureCloud(prefix: string, ports: number[], bake = '0s', reach: 'direct' | 'agent' = 'direct') {
  const cloud = cloudName(prefix);
  clouds.push(cloud);
  const api = ports.slice(1);
  const record = (image: string) => {
    const r = fixtureRecord(cloud, {
      other: { image: FIXTURE.v1, ports: [ports[0] as number] },
      api: { image, ports: api, timeout: '4s', bake },
    });
    if (reach === 'agent') {
      const hosts = (r.spec.runtime as { docker: { hosts: Array<Record<string, unknown>> } }).docker.hosts;
      Object.assign(hosts[0]!, { reach: 'agent', pickupTimeout: '10s' });
    }
    return r;
  };
  return { cloud, api, record };
}

/** Exactly the intended api containers, all running `image` at `revision`, nothing retired left. */
async function expectApi(cloud: string, api: number[], image: string, revision: string): Promise<void> {
  const after = await snapshot(cloud);
  const apiContainers = [...after.values()].filter((c) => c.service === 'api');
  expect(apiContainers.map((c) => c.name).sort()).toEqual(
    api.map((p) => activeContainerName(cloud, 'api', `local-${p}`)).sort(),
  );
  expect(apiContainers.every((c) => c.running && c.image === image && c.revision === revision)).toBe(true);
  expect([...after.values()].filter((c) => c.name.includes('--retired-'))).toEqual([]);
}

/** Revisions of a cloud in the record store: one row per accepted change, none lost or doubled. */
async function storedRevisions(cloud: string): Promise<Array<{ number: number; outcome: string | null }>> {
  const rows = await db.query<{ number: number; outcome: string | null }>(
    'SELECT number, outcome FROM revisions WHERE cloud = $1 ORDER BY number',
    [cloud],
  );
  return rows.map((r) => ({ number: Number(r.number), outcome: r.outcome }));
}

test('doctor reaches the cluster over mTLS; a wrong CA, server name, client certificate or namespace is told apart', async () => {
  await worker();
  const ok = await cli(['doctor', '--json']);
  expect(ok.code).toBe(0);
  const report = JSON.parse(ok.stdout) as {
    ok: boolean;
    tls: string;
    checks: Array<{ name: string; status: string; detail: string }>;
  };
  const byName = Object.fromEntries(report.checks.map((c) => [c.name, c]));
  expect(report.tls).toBe('mtls');
  expect(byName.temporal?.detail).toMatch(/^Temporal 1\.32\.2 .*persistence postgres12/);
  expect(byName.namespace?.status).toBe('ok');
  expect(byName['search-attributes']?.status).toBe('ok');
  expect(byName['dynamic-config']).toMatchObject({ status: 'ok' });
  expect(byName['dynamic-config']?.detail).toMatch(/enableActivityEagerExecution on/);
  expect(byName.workers?.status).toBe('ok');
  expect(byName['record-store']?.status).toBe('ok');

  // Another CA: the client does not trust the server.
  const otherCa = path.join(os.tmpdir(), `patchbay-other-ca-${process.pid}.crt`);
  await promisify(execFile)('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    `${otherCa}.key`,
    '-out',
    otherCa,
    '-days',
    '1',
    '-subj',
    '/CN=not-the-cluster-ca',
  ]);
  // Each wrong setting at once (a failed handshake costs the client's 5 s connect timeout).
  const status = (extra: Record<string, string>) => cli(['status', 'no-such-cloud'], extra);
  const [untrusted, wrongName, noClientCert, plaintextClient, tlsToPlaintext, noNamespace] =
    await Promise.all([
      status({ TEMPORAL_TLS_CA: otherCa }),
      status({ TEMPORAL_TLS_SERVER_NAME: 'not-temporal.example' }),
      status({ TEMPORAL_TLS_CERT: '', TEMPORAL_TLS_KEY: '' }),
      status({
        TEMPORAL_TLS_CA: '',
        TEMPORAL_TLS_CERT: '',
        TEMPORAL_TLS_KEY: '',
        TEMPORAL_TLS_SERVER_NAME: '',
      }),
      status({ TEMPORAL_ADDRESS: testEnv('address') }), // the plaintext dev server, with mTLS settings
      status({ TEMPORAL_NAMESPACE: 'no-such-namespace' }),
    ]);
  for (const r of [untrusted, wrongName, noClientCert, plaintextClient, tlsToPlaintext, noNamespace])
    expect(r.code).toBe(1);
  expect(untrusted.stderr).toMatch(/cannot reach Temporal at 127\.0\.0\.1:\d+ \(mtls\)/);
  expect(untrusted.stderr).toMatch(
    /the client does not trust the server's certificate \(UNABLE_TO_VERIFY_LEAF_SIGNATURE.*\); set TEMPORAL_TLS_CA/,
  );
  expect(wrongName.stderr).toMatch(
    /does not hold the name checked \(ERR_TLS_CERT_ALTNAME_INVALID: .*not-temporal\.example.*DNS:temporal-frontend\); set TEMPORAL_TLS_SERVER_NAME/,
  );
  expect(noClientCert.stderr).toMatch(
    /\(tls\).*certificate required\); set TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY/,
  );
  expect(plaintextClient.stderr).toMatch(/\(plaintext\).*the server speaks TLS and the client plaintext/);
  expect(tlsToPlaintext.stderr).toMatch(/wrong version number\): the server may speak plaintext/);
  expect(noNamespace.stderr).toContain('namespace "no-such-namespace" does not exist on Temporal at');
  expect(noNamespace.stderr).toContain('temporal operator namespace create --namespace no-such-namespace');
  const doctorNoNamespace = await cli(['doctor'], { TEMPORAL_NAMESPACE: 'no-such-namespace' });
  expect(doctorNoNamespace.code).toBe(1);
  expect(doctorNoNamespace.stdout).toMatch(/FAIL namespace +namespace no-such-namespace does not exist/);
});

test('through an agent over mTLS: a failing gate rolls back automatically; a good patch, then an on-demand rollback', async () => {
  const { cloud, api, record } = fixtureCloud('cl-rb', [19301, 19311, 19312], '0s', 'agent');
  workers.push(await startAgent(cloud, 'local', { env }));
  expect((await cli(['apply', writeRecord(record(FIXTURE.v1))])).code).toBe(0);
  const before = await snapshot(cloud);

  const broken = await cli(['apply', writeRecord(record(FIXTURE.broken)), '--json']);
  expect(broken.code).toBe(1);
  expect(JSON.parse(broken.stdout).outcome).toBe('rolled-back');
  const kept = await snapshot(cloud);
  for (const [name, c] of before) expect(kept.get(name)?.id).toBe(c.id);
  expect(await servedVersions(api)).toEqual(['v1', 'v1']);

  expect((await cli(['apply', writeRecord(record(FIXTURE.v2))])).code).toBe(0);
  await expectApi(cloud, api, FIXTURE.v2, '3');
  const back = await cli(['rollback', cloud, 'api', '--to-revision', '1', '--json']);
  expect(back.code).toBe(0);
  expect(JSON.parse(back.stdout).outcome).toBe('applied');
  expect(await servedVersions(api)).toEqual(['v1', 'v1']);
  const after = await snapshot(cloud);
  const other = activeContainerName(cloud, 'other', 'local-19301');
  expect(after.get(other)).toEqual(before.get(other));
  const hosts = JSON.parse((await cli(['hosts', cloud, '--json'])).stdout) as {
    hosts: Array<{ agent?: { online: boolean; version: string | null } }>;
  };
  expect(hosts.hosts.map((h) => h.agent?.online)).toEqual([true]);
  expect((await storedRevisions(cloud)).map((r) => r.outcome)).toEqual([
    'applied',
    'rolled-back',
    'applied',
    'applied',
  ]);
});

/** Applies v2 to a deployed v1 cloud, does `disrupt` once an instance bakes, and expects it applied. */
async function patchThrough(
  prefix: string,
  ports: number[],
  disrupt: (changeWorkflowId: string) => Promise<void>,
): Promise<void> {
  const { cloud, api, record } = fixtureCloud(prefix, ports, '3s');
  expect((await cli(['apply', writeRecord(record(FIXTURE.v1))])).code).toBe(0);
  const before = await snapshot(cloud);
  const accepted = await client.apply(loadRecordFile(writeRecord(record(FIXTURE.v2))), {
    message: prefix,
    author: 'jest',
  });
  await waitFor(
    'an instance baking',
    async () =>
      (await client.watchChange(accepted.workflowId)).services.some((s) =>
        s.instances.some((i) => i.phase === 'baking'),
      ),
    60_000,
    100,
  );
  await disrupt(accepted.workflowId);
  const result = await client.waitForChange(cloud, accepted);
  expect(result.outcome).toBe('applied');
  await expectApi(cloud, api, FIXTURE.v2, '2');
  expect(await servedVersions(api)).toEqual(api.map(() => 'v2'));
  const after = await snapshot(cloud);
  for (const [name, c] of before) if (c.service !== 'api') expect(after.get(name)).toEqual(c);
  expect(await storedRevisions(cloud)).toEqual([
    { number: 1, outcome: 'applied' },
    { number: 2, outcome: 'applied' },
  ]);
}

test('the worker killed mid-change: a new worker finishes it', async () => {
  await patchThrough('cl-wk', [19321, 19331, 19332], async () => {
    for (const w of workers.splice(0)) await w.kill();
    await worker();
  });
});

test('the history service killed mid-change and started again: the change finishes correctly', async () => {
  await patchThrough('cl-hist', [19341, 19351, 19352], async () => {
    const pid = cluster.info().services.history.pid;
    cluster.stopService('history', { kill: true });
    await new Promise((r) => setTimeout(r, 3_000));
    cluster.startService('history');
    expect(cluster.info().services.history.pid).not.toBe(pid);
  });
});

/** The worker whose cache holds a workflow: the one that took its latest workflow task. */
async function workerRunning(workflowId: string): Promise<WorkerProcess> {
  const history = await client.client.workflow.getHandle(workflowId).fetchHistory();
  const identities = (history.events ?? [])
    .map((e) => e.workflowTaskStartedEventAttributes?.identity)
    .filter((i): i is string => !!i);
  const last = identities[identities.length - 1] ?? '';
  const found = workers.find((w) => last.startsWith(`${w.child.pid}@`));
  if (!found) throw new Error(`no worker of this test has identity ${last}`);
  return found;
}

test('two workers on the task queue, the one running a change killed mid-change: nothing duplicated or lost', async () => {
  // Two changes at once, on two clouds: the other worker has work of its own when one dies.
  while (workers.length < 2) await worker();
  const a = patchThrough('cl-2w-a', [19361, 19371, 19372], async (workflowId) => {
    const running = await workerRunning(`${workflowId}:api`);
    workers.splice(workers.indexOf(running), 1);
    await running.kill();
  });
  const b = patchThrough('cl-2w-b', [19381, 19391, 19392], async () => undefined);
  await Promise.all([a, b]);
  expect(workers.length).toBe(1);
});

test('a campaign approved from the temporal CLI over mTLS', async () => {
  const names = [1, 2].map(() => cloudName('cl-cmp'));
  clouds.push(...names);
  await Promise.all(
    names.map(async (name, k) => {
      const r = fixtureRecord(name, { api: { image: FIXTURE.v1, ports: [19401 + k], timeout: '4s' } });
      expect((await cli(['apply', writeRecord(r)])).code).toBe(0);
    }),
  );
  const spec = CampaignSpecSchema.parse({
    apiVersion: 'patchbay/v1',
    kind: 'Campaign',
    metadata: { name: `cl${process.pid}-cmp` },
    spec: {
      clouds: { names },
      service: 'api',
      image: FIXTURE.v3,
      waves: [{ size: 1 }, { size: 'rest', approval: true }],
      concurrency: 1,
    },
  });
  const campaigns = new CampaignClient(client, undefined, db);
  const id = spec.metadata.name;
  await campaigns.start(spec, 'jest');
  await waitFor(
    'the approval gate',
    async () => (await campaigns.progress(id)).phase === 'awaiting-approval',
    90_000,
  );

  const approve = await temporal([
    'workflow',
    'update',
    'execute',
    '--workflow-id',
    `campaign:${id}`,
    '--name',
    'patchbay.campaign.approve',
    '--input',
    '{"by":"ops-cli","wave":2}',
  ]);
  expect(approve).toMatchObject({ code: 0 });
  const done = await waitFor(
    'the campaign to finish',
    async () => {
      const p = await campaigns.progress(id);
      return ['completed', 'halted', 'aborted'].includes(p.phase) && p;
    },
    120_000,
    250,
  );
  expect(done.phase).toBe('completed');
  expect(Object.values(done.outcomes).map((o) => o.status)).toEqual(['patched', 'patched']);
  expect(await servedVersions([19401, 19402])).toEqual(['v3', 'v3']);
  // Findable on the cluster's visibility store (PostgreSQL) by Patchbay's search attributes.
  const listed = await temporal(['workflow', 'list', '--query', `CampaignId = "${id}"`, '-o', 'json']);
  expect(listed.code).toBe(0);
  expect((JSON.parse(listed.stdout || '[]') as unknown[]).length).toBeGreaterThanOrEqual(3);
});
