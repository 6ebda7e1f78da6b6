// Zero downtime behind a real HAProxy (Debian's 2.6, driven through its Runtime API): a bounded load
// runs through HAProxy while a 3-instance service is patched (drain → no sessions → maint → replace →
// health gate → ready) and while a bad patch is rolled back. Not one request may fail.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { serverStat } from '../../src/runtime/haproxy';
import { testEnv } from '../support/env';
import {
  cloudName,
  fixtureRecord,
  removeCloudContainers,
  runCli,
  servedVersions,
  startWorker,
  waitFor,
  writeRecord,
  type WorkerProcess,
} from '../support/harness';
import { FIXTURE } from '../support/fixtures';
import { startLoad } from '../support/load';

jest.setTimeout(240_000);

const QUEUE = 'haproxy-it';
const FRONT = 18950;
const PORTS = [18951, 18952, 18953];
const cloud = cloudName('lb');
const dir = mkdtempSync(path.join(os.tmpdir(), 'patchbay-haproxy-'));
const socket = path.join(dir, 'admin.sock');
let haproxy: ChildProcess;
let worker: WorkerProcess;

const record = (image: string) => {
  const r = fixtureRecord(cloud, { api: { image, ports: PORTS, timeout: '5s' } });
  r.spec.loadBalancers = [{ name: 'front', haproxy: { runtimeApi: `unix://${socket}`, drainTimeout: '5s' } }];
  r.spec.services[0]!.instances = PORTS.map((port, i) => ({
    host: 'local',
    port,
    lb: { balancer: 'front', backend: 'api', server: `s${i + 1}` },
  }));
  return r;
};

/** The activities a workflow ran, in order (from its history, the authoritative record). */
async function activitySequence(workflowId: string): Promise<string[]> {
  const connection = await Connection.connect({ address: testEnv('address') });
  try {
    const history = await new Client({ connection }).workflow.getHandle(workflowId).fetchHistory();
    return (history.events ?? []).flatMap((e) => {
      const name = e.activityTaskScheduledEventAttributes?.activityType?.name;
      return name && name !== 'observeService' ? [name] : [];
    });
  } finally {
    await connection.close();
  }
}

const upStates = async () =>
  Promise.all(PORTS.map(async (_p, i) => (await serverStat(`unix://${socket}`, 'api', `s${i + 1}`)).status));

beforeAll(async () => {
  writeFileSync(
    path.join(dir, 'haproxy.cfg'),
    [
      'global',
      `  stats socket ${socket} mode 600 level admin`,
      '  maxconn 2000',
      'defaults',
      '  mode http',
      '  timeout connect 2s',
      '  timeout client 10s',
      '  timeout server 10s',
      '  option http-server-close',
      'frontend fe',
      `  bind 127.0.0.1:${FRONT}`,
      '  default_backend api',
      'backend api',
      '  balance roundrobin',
      '  option httpchk GET /health',
      '  http-check expect status 200',
      ...PORTS.map((port, i) => `  server s${i + 1} 127.0.0.1:${port} check inter 300 fall 2 rise 1`),
      '',
    ].join('\n'),
  );
  haproxy = spawn('haproxy', ['-W', '-db', '-f', path.join(dir, 'haproxy.cfg')], { stdio: 'ignore' });
  worker = await startWorker(QUEUE);
  expect((await runCli(['apply', writeRecord(record(FIXTURE.v1))], QUEUE)).code).toBe(0);
  await waitFor(
    'HAProxy to see every server UP',
    async () => (await upStates()).every((s) => s === 'UP'),
    30_000,
    200,
  );
});

afterAll(async () => {
  await worker?.stop();
  haproxy?.kill('SIGTERM');
  await removeCloudContainers(cloud);
});

test('a rolling patch under load through HAProxy fails no request', async () => {
  const load = startLoad(`http://127.0.0.1:${FRONT}/version`, { concurrency: 4, maxSeconds: 90 });
  const out = await runCli(['apply', writeRecord(record(FIXTURE.v2)), '-m', 'patch behind haproxy'], QUEUE);
  const result = await load.stop();
  expect(out.code).toBe(0);
  // Every instance was drained before it stopped and enabled after its gate, in that order.
  expect(await activitySequence(`cloud:${cloud}:r2:api`)).toEqual(
    PORTS.flatMap(() => ['lbDrain', 'retireInstance', 'startInstance', 'waitHealthy', 'lbEnable']),
  );
  expect(result.requests).toBeGreaterThan(200);
  expect({ failures: result.failures, examples: result.examples }).toEqual({ failures: 0, examples: [] });
  expect(await servedVersions(PORTS)).toEqual(['v2', 'v2', 'v2']);
  expect(await upStates()).toEqual(['UP', 'UP', 'UP']);
});

test('a bad patch under load is rolled back, every server back in rotation, no request failed', async () => {
  const load = startLoad(`http://127.0.0.1:${FRONT}/version`, { concurrency: 4, maxSeconds: 90 });
  const out = await runCli(['apply', writeRecord(record(FIXTURE.broken)), '--json'], QUEUE);
  const result = await load.stop();
  expect(out.code).toBe(1);
  expect(JSON.parse(out.stdout).outcome).toBe('rolled-back');
  expect(result.requests).toBeGreaterThan(100);
  expect({ failures: result.failures, examples: result.examples }).toEqual({ failures: 0, examples: [] });
  expect(await servedVersions(PORTS)).toEqual(['v2', 'v2', 'v2']);
  await waitFor(
    'every server UP again',
    async () => (await upStates()).every((s) => s === 'UP'),
    10_000,
    200,
  );
});

test('an unknown HAProxy server is refused by preflight; nothing is touched', async () => {
  const r = record(FIXTURE.v3);
  r.spec.services[0]!.instances[2]!.lb!.server = 'nosuch';
  const out = await runCli(['apply', writeRecord(r), '--json'], QUEUE);
  expect(out.code).toBe(1);
  expect(JSON.parse(out.stdout).reason).toContain('has no server api/nosuch');
  expect(await servedVersions(PORTS)).toEqual(['v2', 'v2', 'v2']);
  expect(await upStates()).toEqual(['UP', 'UP', 'UP']);
});
