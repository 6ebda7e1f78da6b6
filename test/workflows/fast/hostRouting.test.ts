// Fast tests of the per-host task-queue seam (src/workflows/runtimes/docker.ts + activityProxies.ts):
// a host whose record names a task queue has its activities run by the worker on that queue (an
// agent, later), every other host's by the central worker; and when nothing serves that queue, the
// failure names the host and the queue.
import { ActivityFailure, RetryState, TimeoutFailure } from '@temporalio/common';
import { Worker } from '@temporalio/worker';
import { HOST_PICKUP_TIMEOUT, explainPickup } from '../../../src/workflows/activityProxies';
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

/** api on ctl1 (central worker) and ctl2 (reached through `queue`), two instances each. */
function twoHosts(cloud: string, image: string, queue: string): CloudRecord {
  const input = fastRecordInput(cloud, { api: { image, ports: [8001, 8002] } });
  const spec = input.spec as {
    runtime: { docker: { hosts: object[] } };
    services: Array<{ instances: object[] }>;
  };
  spec.runtime.docker.hosts.push({ name: 'ctl2', endpoint: 'tcp://ctl2.invalid:2375', taskQueue: queue });
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

test("a host's activities run on the worker of its task queue, the others' on the central worker", async () => {
  const cloud = cloudName('routed');
  const queue = `agent-${cloud}-ctl2`;
  const agent = createScriptedRuntime();
  const agentWorker = await Worker.create({
    connection: fast.env.nativeConnection,
    namespace: fast.env.namespace ?? 'default',
    taskQueue: queue,
    activities: agent.activities,
  });
  const running = agentWorker.run();
  try {
    const v1 = twoHosts(cloud, 'x/api:v1', queue);
    expect((await change(cloud, 1, null, v1)).outcome).toBe('applied');
    const v2 = twoHosts(cloud, 'x/api:v2', queue);
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
    agentWorker.shutdown();
    await running;
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
