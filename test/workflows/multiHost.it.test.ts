// A cloud across three real hosts (issue 15): the multi-host lab (scripts/multihost-lab.sh: three
// network namespaces on a bridge of our own, each with its own dockerd) and one `patchbay agent` per
// host, inside the host's namespace, reaching Temporal only outward. HAProxy runs on h1 and fronts
// the api instances on h2 and h3: its Runtime API is driven by h1's agent, and the traffic crosses
// hosts. Deploy, patch under load, roll back; then an agent killed, an engine stopped and a link cut
// in the middle of a patch: each is noticed within bounds, what can be reached is put back, the
// change waits for an operator, and `resolve retry` finishes it once the host is back.
import { Client, Connection } from '@temporalio/client';
import { startLoad, summarise } from '../../src/lab/httpLoad';
import { cloudSnapshot } from '../../src/lab/containers';
import { dockerClient } from '../../src/runtime/dockerClient';
import { serverStat } from '../../src/runtime/haproxy';
import { testEnv } from '../support/env';
import { FIXTURE } from '../support/fixtures';
import { startFixtureHaproxy, type FixtureHaproxy } from '../support/haproxy';
import {
  cloudName,
  fixtureRecord,
  runCli,
  startAgent,
  startWorker,
  waitFor,
  writeRecord,
  type WorkerProcess,
} from '../support/harness';
import {
  cutLink,
  execIn,
  forwardPort,
  LAB_GATEWAY,
  restoreLink,
  startEngine,
  startLab,
  stopEngine,
  type LabHost,
  type PortForward,
} from '../support/multiHostLab';

jest.setTimeout(300_000);

const QUEUE = 'multihost-it';
const cloud = cloudName('mh');
const API_PORT = 18611;
const DB_PORT = 18601;
const FRONT = 18620;
let hosts: LabHost[];
let forward: PortForward;
let worker: WorkerProcess;
let haproxy: FixtureHaproxy;
let temporal: Client;
const agents = new Map<string, WorkerProcess>();

const host = (name: string): LabHost => hosts.find((h) => h.name === name) as LabHost;

/** db on h1; api on h2 and h3 behind HAProxy on h1; every host reached through its agent. */
function record(apiImage: string, bake = '0s') {
  const r = fixtureRecord(cloud, {
    db: { image: FIXTURE.v1, ports: [DB_PORT], env: { BIND: '0.0.0.0' } },
    api: { image: apiImage, ports: [API_PORT], bake, env: { BIND: '0.0.0.0' } },
  });
  const spec = r.spec as Record<string, unknown> & {
    runtime: { docker: { hosts: object[] } };
    services: Array<{ name: string; instances: object[] }>;
  };
  spec.runtime.docker.hosts = hosts.map((h) => ({
    name: h.name,
    address: h.address,
    endpoint: `unix://${h.socket}`,
    reach: 'agent',
    pickupTimeout: '5s',
  }));
  spec.loadBalancers = [
    { name: 'front', haproxy: { runtimeApi: `unix://${haproxy.socket}`, drainTimeout: '5s', host: 'h1' } },
  ];
  spec.services[0]!.instances = [{ host: 'h1', port: DB_PORT }];
  spec.services[1]!.instances = ['h2', 'h3'].map((h, i) => ({
    host: h,
    port: API_PORT,
    lb: { balancer: 'front', backend: 'api', server: `s${i + 1}` },
  }));
  return r;
}

async function startHostAgent(name: string): Promise<void> {
  const h = host(name);
  agents.set(
    name,
    await startAgent(cloud, name, {
      env: { TEMPORAL_ADDRESS: `${LAB_GATEWAY}:${forward.port}` },
      spawnWith: (argv, env) => execIn(h, argv[0]!, argv.slice(1), { env }),
    }),
  );
}

/** Every container of the cloud on every host: name -> id and start time. */
async function everywhere(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const h of hosts)
    for (const [name, c] of await cloudSnapshot(dockerClient(`unix://${h.socket}`), cloud))
      out[`${h.name}/${name}`] = `${c.id} ${c.startedAt}`;
  return out;
}

/** What each api instance serves, asked on its own host's address. */
async function apiVersions(): Promise<string[]> {
  return Promise.all(
    ['h2', 'h3'].map(async (name) => {
      const res = await fetch(`http://${host(name).address}:${API_PORT}/version`, {
        signal: AbortSignal.timeout(2_000),
      }).catch(() => null);
      return res ? (await res.text()).trim() : 'unreachable';
    }),
  );
}

const upStates = async () =>
  Promise.all(['s1', 's2'].map(async (s) => (await serverStat(`unix://${haproxy.socket}`, 'api', s)).status));

const load = () =>
  startLoad({
    baseUrl: `http://${host('h1').address}:${FRONT}`,
    concurrency: 4,
    request: () => ({ what: 'GET /version', method: 'GET', path: '/version', expect: [200] }),
    maxRequests: 50_000,
    maxMs: 120_000,
  });

async function waitingForOperator(): Promise<{ reason: string; kind: string; since: string }> {
  return waitFor(
    'the operator gate',
    async () => {
      const s = await runCli(['status', cloud, '--json'], QUEUE);
      return s.code === 0 ? (JSON.parse(s.stdout).waitingForOperator ?? undefined) : undefined;
    },
    150_000,
    1_000,
  );
}

beforeAll(async () => {
  hosts = await startLab(3);
  // The lab's engines are the tests' own: containers left by an earlier, interrupted run would hold
  // the ports (and answer health checks for them).
  for (const h of hosts) {
    const docker = dockerClient(`unix://${h.socket}`);
    for (const c of await docker.listContainers({
      all: true,
      filters: { label: ['io.patchbay.managed=true'] },
    }))
      await docker.getContainer(c.Id).remove({ force: true });
  }
  const [, port] = testEnv('address').split(':');
  forward = await forwardPort(LAB_GATEWAY, 0, '127.0.0.1', Number(port));
  temporal = new Client({ connection: await Connection.connect({ address: testEnv('address') }) });
  haproxy = startFixtureHaproxy(FRONT, [API_PORT, API_PORT], {
    bind: host('h1').address,
    servers: [host('h2').address, host('h3').address],
    spawnWith: (cmd, args) => execIn(host('h1'), cmd, args, { stdio: 'ignore' }),
  });
  worker = await startWorker(QUEUE);
  for (const h of hosts) await startHostAgent(h.name);
  const deployed = await runCli(['apply', writeRecord(record(FIXTURE.v1)), '--json'], QUEUE);
  expect(deployed.stderr).toBe('');
  expect(JSON.parse(deployed.stdout).outcome).toBe('applied');
  await waitFor(
    'HAProxy to see both servers UP',
    async () => (await upStates()).every((s) => s === 'UP'),
    30_000,
    200,
  );
});

afterAll(async () => {
  for (const a of agents.values()) await a.stop();
  await worker?.stop();
  haproxy?.stop();
  await temporal?.connection.close();
  for (const h of hosts ?? []) {
    const docker = dockerClient(`unix://${h.socket}`);
    for (const [, c] of await cloudSnapshot(docker, cloud).catch(() => new Map()))
      await docker
        .getContainer(c.id)
        .remove({ force: true })
        .catch(() => undefined);
  }
  await forward?.();
});

test('a patch across hosts under load through HAProxy on another host: no request fails, nothing else moves', async () => {
  const before = await everywhere();
  expect(Object.keys(before).sort()).toEqual(
    [
      `h1/pb-${cloud}-db-h1-${DB_PORT}`,
      `h2/pb-${cloud}-api-h2-${API_PORT}`,
      `h3/pb-${cloud}-api-h3-${API_PORT}`,
    ].sort(),
  );
  const traffic = load();
  const patched = await runCli(['apply', writeRecord(record(FIXTURE.v2)), '--json'], QUEUE);
  await traffic.stop();
  const result = summarise(traffic.samples);
  expect(JSON.parse(patched.stdout).outcome).toBe('applied');
  expect(result.requests).toBeGreaterThan(100);
  expect({ failed: result.failed, failures: result.failures }).toEqual({ failed: 0, failures: [] });
  expect(await apiVersions()).toEqual(['v2', 'v2']);
  // db on h1 kept its container and start time.
  const after = await everywhere();
  const db = `h1/pb-${cloud}-db-h1-${DB_PORT}`;
  expect(after[db]).toBe(before[db]);
  // The drain and enable ran on h1 (its agent), the instance steps on h2 and h3 (theirs).
  const revision = JSON.parse(patched.stdout).revision as number;
  const history = await temporal.workflow.getHandle(`cloud:${cloud}:r${revision}:api`).fetchHistory();
  const scheduled = new Map<string, { type: string; queue: string }>();
  for (const e of history.events ?? []) {
    const s = e.activityTaskScheduledEventAttributes;
    if (s)
      scheduled.set(String(e.eventId), {
        type: s.activityType?.name ?? '?',
        queue: s.taskQueue?.name ?? '?',
      });
  }
  const ran = [...scheduled.values()].map((s) => `${s.type}@${s.queue.split(':').pop()}`);
  expect(ran).toEqual(
    expect.arrayContaining(['lbDrain@h1', 'lbEnable@h1', 'startInstance@h2', 'startInstance@h3']),
  );
  expect(ran.filter((r) => !/@h[123]$/.test(r))).toEqual([]);
});

test('rollback of the api puts v1 back on both hosts', async () => {
  const out = await runCli(['rollback', cloud, 'api', '--json'], QUEUE);
  expect(JSON.parse(out.stdout).outcome).toBe('applied');
  expect(await apiVersions()).toEqual(['v1', 'v1']);
});

/** A patch to v3 that fails mid-way because of `breakHost`; recovered by `heal` + resolve retry. */
async function failMidPatch(breakHost: () => Promise<void>, heal: () => Promise<void>, hostName: string) {
  const apply = runCli(['apply', writeRecord(record(FIXTURE.v3, '8s')), '--json'], QUEUE);
  // h2 is replaced first and bakes; meanwhile the host breaks.
  await waitFor('h2 to serve v3', async () => (await apiVersions())[0] === 'v3', 60_000, 250);
  const brokenAt = Date.now();
  await breakHost();
  const waiting = await waitingForOperator();
  expect(Date.now() - brokenAt).toBeLessThan(120_000);
  expect(waiting).toMatchObject({ kind: 'compensation-failed' });
  expect(waiting.reason).toContain(hostName);
  const healedAt = Date.now();
  await heal();
  // The host's agent polls again (a reconnect after a cut link can take a keepalive round).
  await waitFor(
    `${hostName}'s agent to poll again`,
    async () => {
      const out = await runCli(['hosts', cloud, '--json'], QUEUE);
      const row = (
        JSON.parse(out.stdout).hosts as Array<{ host: string; agent?: { lastSeen: string | null } }>
      ).find((h) => h.host === hostName);
      return row?.agent?.lastSeen && Date.parse(row.agent.lastSeen) >= healedAt - 1_000 ? true : undefined;
    },
    90_000,
    1_000,
  );
  const resolved = await runCli(['resolve', cloud, 'retry', '-m', `${hostName} is back`], QUEUE);
  expect(resolved.code).toBe(0);
  const out = JSON.parse((await apply).stdout);
  expect(out.outcome).toBe('rolled-back');
  expect(await apiVersions()).toEqual(['v1', 'v1']);
  await waitFor(
    'both servers UP again',
    async () => (await upStates()).every((s) => s === 'UP'),
    30_000,
    200,
  );
  return out;
}

test('an agent killed mid-patch: the change compensates what it reaches, waits, and finishes once it is back', async () => {
  await failMidPatch(
    async () => {
      await agents.get('h3')!.kill();
    },
    () => startHostAgent('h3'),
    'h3',
  );
});

test("a host's engine stopped mid-patch: noticed, waits for the operator, finishes after the engine is back", async () => {
  await failMidPatch(
    () => stopEngine('h3'),
    () => startEngine('h3'),
    'h3',
  );
});

test("a host's link cut mid-patch: noticed within bounds, finishes once the link is back", async () => {
  await failMidPatch(
    () => cutLink('h3'),
    () => restoreLink('h3'),
    'h3',
  );
});
