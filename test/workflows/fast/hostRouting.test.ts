// Fast tests of per-host routing (src/workflows/runtimes/docker.ts + activityProxies.ts): a host
// reached through an agent has its activities run by the worker on its agent's task queue, every
// other host's by the central worker; and when nothing serves that queue, the failure names the
// host and the queue.
import { ActivityFailure, RetryState, TimeoutFailure } from '@temporalio/common';
import { Worker } from '@temporalio/worker';
import { HOST_PICKUP_TIMEOUT, explainPickup } from '../../../src/workflows/activityProxies';
import {
  AGENT_PROTOCOL,
  AGENT_VERSION,
  MIGRATIONS_AGENT_PROTOCOL,
  REQUIRED_AGENT_PROTOCOL,
  type AgentHello,
} from '../../../src/agent/version';
import { agentTaskQueue } from '../../../src/record/identity';
import { CloudRecordSchema, type CloudRecord } from '../../../src/record/schema';
import { changeWorkflow } from '../../../src/workflows';
import { changeWorkflowId } from '../../../src/workflows/ids';
import type { ChangeResult } from '../../../src/workflows/types';
import { fastRecordInput } from '../../support/fastRecords';
import { createScriptedRuntime } from '../../support/scriptedRuntime';
import { cloudName, startFastEnv, type FastEnv } from '../../support/timeSkipping';

let fast: FastEnv;
beforeAll(async () => {
  fast = await startFastEnv(`fast-routing-${process.pid}`);
}, 120_000);
afterAll(() => fast?.shutdown(), 30_000);

/** api on ctl1 (central worker) and ctl2 (reached through its agent's queue), two instances each. */
function twoHosts(cloud: string, image: string): CloudRecord {
  const input = fastRecordInput(cloud, { api: { image, ports: [8001, 8002] } });
  const spec = input.spec as {
    runtime: { docker: { hosts: object[] } };
    services: Array<{ instances: object[] }>;
  };
  // An address that is not this machine's: reached through its agent by default.
  spec.runtime.docker.hosts.push({ name: 'ctl2', address: '10.77.0.12' });
  spec.services[0]!.instances.push({ host: 'ctl2', port: 8001 }, { host: 'ctl2', port: 8002 });
  return CloudRecordSchema.parse(input);
}

function change(
  cloud: string,
  revision: number,
  from: CloudRecord | null,
  to: CloudRecord,
): Promise<ChangeResult> {
  return fast.client.workflow.execute(changeWorkflow, {
    taskQueue: fast.taskQueue,
    workflowId: changeWorkflowId(cloud, revision),
    args: [{ cloud, revision, previousRevision: revision > 1 ? revision - 1 : null, from, to }],
  });
}

/** An agent for ctl2 of a cloud: the scripted runtime on its queue, saying hello with this protocol. */
async function startAgent(cloud: string, protocol = AGENT_PROTOCOL) {
  const runtime = createScriptedRuntime();
  const hello: AgentHello = {
    cloud,
    host: 'ctl2',
    version: protocol === 0 ? '0.0.9' : AGENT_VERSION,
    protocol,
    identity: 'fast',
  };
  const worker = await Worker.create({
    connection: fast.env.nativeConnection,
    namespace: fast.env.namespace ?? 'default',
    taskQueue: agentTaskQueue(cloud, 'ctl2'),
    activities: { ...runtime.activities, agentHello: async () => hello },
  });
  const running = worker.run();
  return {
    runtime,
    async stop() {
      worker.shutdown();
      await running;
    },
  };
}

test('an agent too old for the workflows is refused at preflight, naming both versions; nothing touched', async () => {
  const cloud = cloudName('old-agent');
  const agent = await startAgent(cloud, 0);
  try {
    const result = await change(cloud, 1, null, twoHosts(cloud, 'x/api:v1'));
    expect(result.outcome).toBe('failed');
    expect(result.reason).toContain(
      `host ctl2: its agent runs Patchbay 0.0.9 (agent protocol 0); this change needs agent protocol ${REQUIRED_AGENT_PROTOCOL}`,
    );
    expect(fast.runtime.calls(cloud, 'startInstance')).toEqual([]);
    expect(agent.runtime.calls(cloud, 'startInstance')).toEqual([]);
  } finally {
    await agent.stop();
  }
});

test('a revision with schema migrations needs agent protocol 2: a protocol-1 agent serves plain changes only', async () => {
  const cloud = cloudName('old-agent-migrations');
  const agent = await startAgent(cloud, 1);
  try {
    const v1 = twoHosts(cloud, 'x/api:v1');
    expect((await change(cloud, 1, null, v1)).outcome).toBe('applied');
    const v2 = twoHosts(cloud, 'x/api:v2');
    // The database is another service's: a db on ctl1 that api depends on.
    const withDb = CloudRecordSchema.parse({
      ...v2,
      spec: {
        ...v2.spec,
        services: [
          {
            ...v2.spec.services[0]!,
            dependsOn: ['db'],
            migrations: { database: { service: 'db', name: 'api' }, expand: { command: ['expand'] } },
          },
          {
            ...v2.spec.services[0]!,
            name: 'db',
            image: 'x/db:v1',
            instances: [{ host: 'ctl1', port: 8101 }],
          },
        ],
      },
    });
    const result = await change(cloud, 2, v1, withDb);
    expect(result.outcome).toBe('failed');
    expect(result.reason).toContain(
      `host ctl2: its agent runs Patchbay ${AGENT_VERSION} (agent protocol 1); this change needs agent protocol ${MIGRATIONS_AGENT_PROTOCOL}`,
    );
    expect(fast.runtime.calls(cloud, 'runJob')).toEqual([]);
    expect(agent.runtime.calls(cloud, 'startInstance').filter((e) => e.revision === 2)).toEqual([]);
  } finally {
    await agent.stop();
  }
});

test("an agent host's activities run on its agent's queue, the others' on the central worker", async () => {
  const cloud = cloudName('routed');
  const { runtime: agent, stop } = await startAgent(cloud);
  try {
    const v1 = twoHosts(cloud, 'x/api:v1');
    expect((await change(cloud, 1, null, v1)).outcome).toBe('applied');
    const v2 = twoHosts(cloud, 'x/api:v2');
    expect((await change(cloud, 2, v1, v2)).outcome).toBe('applied');

    const instances = (runtime: typeof agent, op: 'startInstance' | 'retireInstance' | 'commitInstance') =>
      runtime.calls(cloud, op).map((e) => `${e.instance} r${e.revision ?? '-'}`);
    expect(instances(fast.runtime, 'startInstance')).toEqual([
      'ctl1-8001 r1',
      'ctl1-8002 r1',
      'ctl1-8001 r2',
      'ctl1-8002 r2',
    ]);
    expect(instances(agent, 'startInstance')).toEqual([
      'ctl2-8001 r1',
      'ctl2-8002 r1',
      'ctl2-8001 r2',
      'ctl2-8002 r2',
    ]);
    // Observation, preflight, retire and commit go the same way: nothing of ctl2 ran centrally.
    for (const op of ['observeService', 'preflightService', 'retireInstance', 'commitInstance'] as const) {
      expect(agent.calls(cloud, op).length).toBeGreaterThan(0);
      expect(fast.runtime.calls(cloud, op).every((e) => !e.instance?.startsWith('ctl2'))).toBe(true);
    }
    expect(fast.runtime.calls(cloud, 'retireInstance').map((e) => e.instance)).toEqual([
      'ctl1-8001',
      'ctl1-8002',
    ]);
    expect(agent.calls(cloud, 'retireInstance').map((e) => e.instance)).toEqual(['ctl2-8001', 'ctl2-8002']);
  } finally {
    await stop();
  }
});

test('when nothing serves a host queue, the failure names the host and the queue', async () => {
  // The test server does not skip time while an activity task waits in a queue, so the
  // schedule-to-start timeout itself is exercised by the agent tests on a real server; here the
  // translation of that timeout, on stubs that fail as a real one does.
  const timedOut = new ActivityFailure(
    'activity timed out',
    'preflightService',
    '1',
    RetryState.NON_RETRYABLE_FAILURE,
    undefined,
    new TimeoutFailure('activity ScheduleToStart timeout', undefined, 'SCHEDULE_TO_START'),
  );
  const stubs = explainPickup(
    {
      preflightService: () => Promise.reject(timedOut),
      observeService: () => Promise.reject(new Error('boom')),
    },
    'agent-q',
    'ctl2',
  );
  await expect(stubs.preflightService()).rejects.toMatchObject({
    type: 'HOST_UNREACHABLE',
    nonRetryable: true,
    message: `host ctl2: no worker took preflightService from task queue agent-q within ${HOST_PICKUP_TIMEOUT} (is the host's agent running?)`,
  });
  // Any other failure passes through as it was.
  await expect(stubs.observeService()).rejects.toThrow('boom');
});
