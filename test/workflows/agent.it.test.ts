// A host reached through `patchbay agent` (issue 15), on this machine's engine: every host step runs
// in the agent process (the workflow histories say which worker ran what), a host whose agent does
// not answer is refused at preflight with nothing touched, and an agent killed in the middle of a
// patch is noticed within the record's bounds: the change waits for an operator, and once the agent
// is back `resolve retry` finishes it. `patchbay hosts` shows the agent and its version.
import { Client, Connection } from '@temporalio/client';
import { AGENT_VERSION } from '../../src/agent/version';
import { changeWorkflowId } from '../../src/workflows/ids';
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
import { testEnv } from '../support/env';
import { FIXTURE } from '../support/fixtures';

jest.setTimeout(240_000);

const QUEUE = 'agent-it';
let worker: WorkerProcess;
let agent: WorkerProcess | undefined;
let temporal: Client;
const cloud = cloudName('agent');
const PORTS = [18451, 18452];

/** The fixture cloud with its one host reached through an agent, which must take a step within 5 s. */
function record(image: string, bake = '0s') {
  const r = fixtureRecord(cloud, { api: { image, ports: PORTS, bake } });
  const hosts = (r.spec.runtime as { docker: { hosts: Array<Record<string, unknown>> } }).docker.hosts;
  Object.assign(hosts[0]!, { reach: 'agent', pickupTimeout: '5s' });
  return r;
}

beforeAll(async () => {
  worker = await startWorker(QUEUE);
  agent = await startAgent(cloud, 'local');
  temporal = new Client({ connection: await Connection.connect({ address: testEnv('address') }) });
});
afterAll(async () => {
  await agent?.stop();
  await worker?.stop();
  await temporal?.connection.close();
  await removeCloudContainers(cloud);
});

/** Which worker identities ran each activity type in a workflow's history. */
async function ranBy(workflowId: string): Promise<Record<string, string[]>> {
  const history = await temporal.workflow.getHandle(workflowId).fetchHistory();
  const scheduled = new Map<string, string>();
  const out: Record<string, string[]> = {};
  for (const e of history.events ?? []) {
    const s = e.activityTaskScheduledEventAttributes;
    if (s) scheduled.set(String(e.eventId), s.activityType?.name ?? '?');
    const started = e.activityTaskStartedEventAttributes;
    if (started) {
      const type = scheduled.get(String(started.scheduledEventId)) ?? '?';
      (out[type] ??= []).push(started.identity?.startsWith('patchbay-agent/') ? 'agent' : 'worker');
    }
  }
  return out;
}

test('deploy and patch through the agent: every host step runs in the agent, the rest in the worker', async () => {
  const deployed = await runCli(['apply', writeRecord(record(FIXTURE.v1)), '--json'], QUEUE);
  expect(deployed.stderr).toBe('');
  expect(JSON.parse(deployed.stdout).outcome).toBe('applied');
  const patched = await runCli(['apply', writeRecord(record(FIXTURE.v2)), '--json'], QUEUE);
  expect(JSON.parse(patched.stdout).outcome).toBe('applied');
  expect(await servedVersions(PORTS)).toEqual(['v2', 'v2']);

  const r2 = JSON.parse(patched.stdout).revision as number;
  const change = await ranBy(changeWorkflowId(cloud, r2));
  const service = await ranBy(`${changeWorkflowId(cloud, r2)}:api`);
  expect(change.agentHello).toEqual(['agent']);
  expect(change.preflightService).toEqual(['agent']);
  expect(change.commitInstance).toEqual(['agent', 'agent']);
  for (const step of ['observeService', 'retireInstance', 'startInstance', 'waitHealthy'])
    expect(service[step]).toEqual(expect.arrayContaining(['agent']));
  expect(Object.values(service).flat()).not.toContain('worker');
});

test('patchbay hosts shows the host, how it is reached, and its agent online with its version', async () => {
  const out = await runCli(['hosts', cloud, '--json'], QUEUE);
  expect(out.code).toBe(0);
  const { hosts } = JSON.parse(out.stdout);
  expect(hosts).toEqual([
    expect.objectContaining({
      cloud,
      host: 'local',
      reach: 'agent',
      agent: expect.objectContaining({ version: AGENT_VERSION, online: true }),
    }),
  ]);
  const text = await runCli(['hosts', cloud], QUEUE);
  expect(text.stdout).toMatch(
    new RegExp(`${cloud}\\s+local\\s+127\\.0\\.0\\.1\\s+agent\\s+${AGENT_VERSION} online`),
  );
});

test('with the agent down, a change is refused at preflight naming the host; nothing is touched', async () => {
  const before = await snapshot(cloud);
  await agent!.stop();
  agent = undefined;
  const refused = await runCli(['apply', writeRecord(record(FIXTURE.v3)), '--json'], QUEUE);
  expect(refused.code).toBe(1);
  const out = JSON.parse(refused.stdout);
  expect(out.outcome).toBe('failed');
  expect(out.reason).toMatch(
    /host local: no worker took \w+ from task queue patchbay-agent:agent-[^ ]+:local within 5s/,
  );
  const after = await snapshot(cloud);
  expect([...after.values()].map((c) => [c.name, c.id, c.startedAt])).toEqual(
    [...before.values()].map((c) => [c.name, c.id, c.startedAt]),
  );
  agent = await startAgent(cloud, 'local');
});

test('an agent killed mid-patch: noticed within bounds, the change waits; agent back + resolve retry finishes', async () => {
  const apply = runCli(['apply', writeRecord(record(FIXTURE.v3, '30s')), '--json'], QUEUE);
  // The first instance is replaced and baking when the agent dies.
  await waitFor(
    'the first instance to bake on v3',
    async () => (await servedVersions([PORTS[0]!]))[0] === 'v3',
    60_000,
    250,
  );
  await agent!.kill();
  agent = undefined;
  const killedAt = Date.now();
  const waiting = await waitFor(
    'the operator gate',
    async () => {
      const s = await runCli(['status', cloud, '--json'], QUEUE);
      return s.code === 0 ? (JSON.parse(s.stdout).waitingForOperator ?? undefined) : undefined;
    },
    120_000,
    500,
  );
  // Heartbeat (5 s) + retry + pickup (5 s) for the bake, then the same for the compensation.
  expect(Date.now() - killedAt).toBeLessThan(90_000);
  expect(waiting).toMatchObject({
    service: 'api',
    kind: 'compensation-failed',
    allowed: ['retry', 'abandon'],
  });
  expect(waiting.reason).toContain('host local: no worker took restoreInstance');

  agent = await startAgent(cloud, 'local');
  const resolved = await runCli(['resolve', cloud, 'retry', '-m', 'agent is back'], QUEUE);
  expect(resolved.code).toBe(0);
  const result = await apply;
  const out = JSON.parse(result.stdout);
  expect(out.outcome).toBe('rolled-back');
  expect(out.reason).toContain('host local');
  expect(await servedVersions(PORTS)).toEqual(['v2', 'v2']);
});
