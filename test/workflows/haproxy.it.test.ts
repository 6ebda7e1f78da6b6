// Zero downtime behind a real HAProxy (Debian's 2.6, driven through its Runtime API): a bounded load
// runs through HAProxy while a 3-instance service is patched (drain → no sessions → maint → replace →
// health gate → ready) and while a bad patch is rolled back. Not one request may fail.
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
import { startLoad, summarise } from '../../src/lab/httpLoad';
import { startFixtureHaproxy } from '../support/haproxy';

jest.setTimeout(240_000);

const QUEUE = 'haproxy-it';
const FRONT = 18950;
const PORTS = [18951, 18952, 18953];
const cloud = cloudName('lb');
const haproxy = startFixtureHaproxy(FRONT, PORTS);
const socket = haproxy.socket;
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

/** 4 clients reading /version through HAProxy, bounded to 90 s or 50k requests. */
const versionLoad = () =>
  startLoad({
    baseUrl: `http://127.0.0.1:${FRONT}`,
    concurrency: 4,
    request: () => ({ what: 'GET /version', method: 'GET', path: '/version', expect: [200] }),
    maxRequests: 50_000,
    maxMs: 90_000,
  });

const upStates = async () =>
  Promise.all(PORTS.map(async (_p, i) => (await serverStat(`unix://${socket}`, 'api', `s${i + 1}`)).status));

beforeAll(async () => {
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
  haproxy.stop();
  await removeCloudContainers(cloud);
});

test('a rolling patch under load through HAProxy fails no request', async () => {
  const load = versionLoad();
  const out = await runCli(['apply', writeRecord(record(FIXTURE.v2)), '-m', 'patch behind haproxy'], QUEUE);
  await load.stop();
  const result = summarise(load.samples);
  expect(out.code).toBe(0);
  // Every instance was drained before it stopped and enabled after its gate, in that order.
  expect(await activitySequence(`cloud:${cloud}:r2:api`)).toEqual(
    PORTS.flatMap(() => ['lbDrain', 'retireInstance', 'startInstance', 'waitHealthy', 'lbEnable']),
  );
  expect(result.requests).toBeGreaterThan(200);
  expect({ failed: result.failed, failures: result.failures }).toEqual({ failed: 0, failures: [] });
  expect(await servedVersions(PORTS)).toEqual(['v2', 'v2', 'v2']);
  expect(await upStates()).toEqual(['UP', 'UP', 'UP']);
});

test('a bad patch under load is rolled back, every server back in rotation, no request failed', async () => {
  const load = versionLoad();
  const out = await runCli(['apply', writeRecord(record(FIXTURE.broken)), '--json'], QUEUE);
  await load.stop();
  const result = summarise(load.samples);
  expect(out.code).toBe(1);
  expect(JSON.parse(out.stdout).outcome).toBe('rolled-back');
  expect(result.requests).toBeGreaterThan(100);
  expect({ failed: result.failed, failures: result.failures }).toEqual({ failed: 0, failures: [] });
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
  r.spec.services[0]!.instances![2]!.lb!.server = 'nosuch';
  const out = await runCli(['apply', writeRecord(r), '--json'], QUEUE);
  expect(out.code).toBe(1);
  expect(JSON.parse(out.stdout).reason).toContain('has no server api/nosuch');
  expect(await servedVersions(PORTS)).toEqual(['v2', 'v2', 'v2']);
  expect(await upStates()).toEqual(['UP', 'UP', 'UP']);
});
