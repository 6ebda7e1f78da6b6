// Fast tests of one service's rollout (src/workflows/serviceRollout.ts + saga.ts + operatorGate.ts):
// the time-skipping test server and the in-memory runtime, every branch of the saga and the gate.
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import type { ServiceSpec } from '../../../src/record/schema';
import { serviceRolloutWorkflow } from '../../../src/workflows';
import { serviceWorkflowId } from '../../../src/workflows/ids';
import { resolveUpdate, serviceProgressQuery } from '../../../src/workflows/messages';
import type { ServiceResult } from '../../../src/workflows/types';
import { fastRecord, serviceOf, type FastService } from '../../support/fastRecords';
import { cloudName, eventually, startFastEnv, type FastEnv } from '../../support/timeSkipping';

let fast: FastEnv;
beforeAll(async () => {
  fast = await startFastEnv();
}, 120_000);
afterAll(() => fast?.shutdown(), 30_000);

const PORTS = [8001, 8002, 8003];
const spec = (cloud: string, image: string, options: Partial<FastService> = {}): ServiceSpec =>
  serviceOf(fastRecord(cloud, { api: { image, ports: PORTS, ...options } }), 'api');
const hosts = (cloud: string) =>
  fastRecord(cloud, { api: { image: 'x', ports: [1] } }).spec.runtime.docker.hosts;

function startRollout(
  cloud: string,
  revision: number,
  target: ServiceSpec | null,
  previous: ServiceSpec | null,
): Promise<WorkflowHandle<typeof serviceRolloutWorkflow>> {
  return fast.client.workflow.start(serviceRolloutWorkflow, {
    taskQueue: fast.taskQueue,
    workflowId: serviceWorkflowId(cloud, revision, 'api'),
    args: [
      {
        cloud,
        revision,
        previousRevision: revision > 1 ? revision - 1 : null,
        service: 'api',
        target,
        previous,
        hosts: hosts(cloud),
        loadBalancers: [],
      },
    ],
  });
}

async function rollout(
  cloud: string,
  revision: number,
  target: ServiceSpec | null,
  previous: ServiceSpec | null,
): Promise<ServiceResult> {
  return (await startRollout(cloud, revision, target, previous)).result();
}

/** The cloud's containers in the fake, by name: image version, revision label, running. */
function containers(cloud: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const c of [...fast.runtime.containers.values()].filter((c) => c.cloud === cloud))
    out[c.name] = `${c.version} r${c.revision}${c.running ? '' : ' stopped'}`;
  return out;
}

const active = (cloud: string, version: string, revision: number) =>
  Object.fromEntries(PORTS.map((p) => [`pb-${cloud}-api-ctl1-${p}`, `${version} r${revision}`]));

/** The instances an activity was called for, in call order. */
const order = (cloud: string, op: Parameters<FastEnv['runtime']['calls']>[1]) =>
  fast.runtime.calls(cloud, op).map((e) => e.instance);

const started = (cloud: string, revision: number) =>
  fast.runtime
    .calls(cloud, 'startInstance')
    .filter((e) => e.revision === revision)
    .map((e) => e.instance);

/** A cloud whose api runs v1 (revision 1) on every port. */
async function onV1(prefix: string, options: Partial<FastService> = {}): Promise<string> {
  const cloud = cloudName(prefix);
  const created = await rollout(cloud, 1, spec(cloud, 'x/api:v1', options), null);
  expect(created).toMatchObject({ action: 'create', status: 'succeeded' });
  expect(containers(cloud)).toEqual(active(cloud, 'v1', 1));
  return cloud;
}

/**
 * Waits until the workflow waits for an operator, advancing the server's clock half a second per
 * look (retry backoffs pass). Not by awaiting its result: with nothing left to do but wait for an
 * operator, the test server would skip straight to the workflow's execution timeout.
 */
async function waitForGate(handle: WorkflowHandle<typeof serviceRolloutWorkflow>) {
  return eventually('the operator gate', async () => {
    const { blocked } = await handle.query(serviceProgressQuery);
    if (!blocked) await fast.env.sleep(500);
    return blocked;
  });
}

describe('service rollout (time-skipping, in-memory runtime)', () => {
  test('a patch replaces every instance, never more than maxUnavailable out of service, each baked', async () => {
    for (const maxUnavailable of [1, 2]) {
      const cloud = await onV1(`patch-mu${maxUnavailable}`, { maxUnavailable });
      const wall = Date.now();
      const result = await rollout(
        cloud,
        2,
        spec(cloud, 'x/api:v2', { maxUnavailable, bake: '10m' }),
        spec(cloud, 'x/api:v1', { maxUnavailable }),
      );
      const wallMs = Date.now() - wall;

      expect(result).toMatchObject({
        action: 'patch',
        status: 'succeeded',
        fromVersion: 'v1',
        toVersion: 'v2',
      });
      expect(result.instances.map((i) => i.phase)).toEqual(['done', 'done', 'done']);
      // New containers serve; the old ones are kept, stopped, until the change commits.
      expect(containers(cloud)).toEqual({
        ...active(cloud, 'v2', 2),
        ...Object.fromEntries(PORTS.map((p) => [`pb-${cloud}-api-ctl1-${p}--retired-r2`, 'v1 r1 stopped'])),
      });
      expect(result.steps.map((s) => ('ref' in s ? s.retiredName : null))).toEqual(
        PORTS.map((p) => `pb-${cloud}-api-ctl1-${p}--retired-r2`),
      );
      expect(fast.runtime.maxOutOfService(cloud, 'api')).toBe(maxUnavailable);

      // Every new instance baked (10 minutes each, instantly in the fake), one batch after another.
      expect(
        fast.runtime
          .calls(cloud, 'bakeInstance')
          .map((e) => e.instance)
          .sort(),
      ).toEqual(PORTS.map((p) => `ctl1-${p}`));
      expect(wallMs).toBeLessThan(10_000);
    }
  }, 30_000);

  test('a failed health gate unwinds the compensation stack newest first and restores the old containers', async () => {
    const cloud = await onV1('gate');
    // The third instance's new container never becomes healthy (once: its restored old one is).
    fast.runtime.fail({
      op: 'waitHealthy',
      service: 'api',
      instance: 'ctl1-8003',
      times: 1,
      type: 'HEALTH_GATE_FAILED',
    });
    const result = await rollout(cloud, 2, spec(cloud, 'x/api:v2'), spec(cloud, 'x/api:v1'));

    expect(result.status).toBe('rolled-back');
    expect(result.reason).toContain('waitHealthy failed for api/ctl1-8003');
    expect(order(cloud, 'restoreInstance')).toEqual(['ctl1-8003', 'ctl1-8002', 'ctl1-8001']);
    expect(fast.runtime.calls(cloud, 'restoreInstance').map((e) => e.outcome)).toEqual([
      'kept-container-restarted',
      'kept-container-restarted',
      'kept-container-restarted',
    ]);
    expect(result.instances.map((i) => i.phase)).toEqual(['rolled-back', 'rolled-back', 'rolled-back']);
    // Exactly the old containers, running again; nothing of revision 2 is left.
    expect(containers(cloud)).toEqual(active(cloud, 'v1', 1));
    expect(result.steps).toEqual([]);
  }, 30_000);

  test('an instance that dies during its bake is rolled back with the rest', async () => {
    const cloud = await onV1('bake');
    fast.runtime.dieDuringBake({ service: 'api', instance: 'ctl1-8002' });
    const result = await rollout(cloud, 2, spec(cloud, 'x/api:v2', { bake: '30m' }), spec(cloud, 'x/api:v1'));

    expect(result.status).toBe('rolled-back');
    expect(result.reason).toContain('died during its bake');
    // 8003 was never touched: the failure stopped the batches.
    expect(started(cloud, 2)).toEqual(['ctl1-8001', 'ctl1-8002']);
    expect(order(cloud, 'restoreInstance')).toEqual(['ctl1-8002', 'ctl1-8001']);
    expect(containers(cloud)).toEqual(active(cloud, 'v1', 1));
    expect(result.instances.find((i) => i.instance === 'ctl1-8003')?.phase).toBe('pending');
  }, 30_000);

  test('a unit on an unreachable host is put back last: everything reachable first, then the operator', async () => {
    const cloud = await onV1('unreachable');
    fast.runtime.fail({ op: 'waitHealthy', service: 'api', instance: 'ctl1-8003', times: 1 });
    // 8002's host does not answer for the first two tries: as a host whose agent is down.
    fast.runtime.fail({
      op: 'restoreInstance',
      service: 'api',
      instance: 'ctl1-8002',
      times: 2,
      type: 'HOST_UNREACHABLE',
      message: 'host ctl1: no worker took restoreInstance from task queue q within 2m (scripted)',
    });
    const handle = await startRollout(cloud, 2, spec(cloud, 'x/api:v2'), spec(cloud, 'x/api:v1'));
    const block = await waitForGate(handle);
    expect(block.reason).toContain(
      'compensation of api/ctl1-8002 failed: host ctl1: no worker took restoreInstance',
    );
    // Newest first, the unreachable one deferred past the others, then tried again before asking.
    expect(order(cloud, 'restoreInstance')).toEqual(['ctl1-8003', 'ctl1-8002', 'ctl1-8001', 'ctl1-8002']);
    expect(containers(cloud)[`pb-${cloud}-api-ctl1-8001`]).toBe('v1 r1');
    expect(containers(cloud)[`pb-${cloud}-api-ctl1-8003`]).toBe('v1 r1');

    await handle.executeUpdate(resolveUpdate, {
      args: [{ action: 'retry', author: 'jest', note: 'host back' }],
    });
    const result = await handle.result();
    expect(result.status).toBe('rolled-back');
    expect(containers(cloud)).toEqual(active(cloud, 'v1', 1));
  }, 30_000);

  test('a failed compensation waits for an operator: retry (after the retries, in skipped time)', async () => {
    const cloud = await onV1('comp-retry');
    fast.runtime.fail({ op: 'waitHealthy', service: 'api', instance: 'ctl1-8002', times: 1 });
    // Restoring 8001 fails on all 5 attempts of the activity's retry policy, then works again.
    fast.runtime.fail({
      op: 'restoreInstance',
      service: 'api',
      instance: 'ctl1-8001',
      times: 5,
      retryable: true,
      message: 'docker host ctl1 unreachable (scripted)',
    });
    const handle = await startRollout(cloud, 2, spec(cloud, 'x/api:v2'), spec(cloud, 'x/api:v1'));
    const block = await waitForGate(handle);

    expect(block).toMatchObject({ kind: 'compensation-failed', allowed: ['retry', 'abandon'] });
    expect(block.reason).toContain('compensation of api/ctl1-8001 failed: docker host ctl1 unreachable');
    const attempts = fast.runtime.calls(cloud, 'restoreInstance').filter((e) => e.instance === 'ctl1-8001');
    expect(attempts.map((a) => a.attempt)).toEqual([1, 2, 3, 4, 5]);
    // The retry backoffs passed in the server's time (the test server retries at once, then 1, 2, 4 s).
    expect(attempts[4]!.at - attempts[0]!.at).toBeGreaterThanOrEqual(7_000);
    // 8002 was put back already; 8001 is still down; the gate refuses what it does not offer.
    expect(containers(cloud)[`pb-${cloud}-api-ctl1-8002`]).toBe('v1 r1');
    await expect(
      handle.executeUpdate(resolveUpdate, { args: [{ action: 'rollback', author: 'jest' }] }),
    ).rejects.toThrow(WorkflowUpdateFailedError);

    const accepted = await handle.executeUpdate(resolveUpdate, {
      args: [{ action: 'retry', author: 'jest', note: 'host is back' }],
    });
    expect(accepted).toEqual({ accepted: 'retry' });
    const result = await handle.result();

    expect(result.status).toBe('rolled-back');
    expect(containers(cloud)).toEqual(active(cloud, 'v1', 1));
    // The decision is in the audit log, once.
    const audit = [...fast.store.audit.values()].filter((a) => a.target === cloud);
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({
      actor: 'jest',
      action: 'resolve:retry',
      reason: 'host is back',
      detail: { revision: 2, service: 'api', block: 'compensation-failed' },
    });
  }, 30_000);

  test('a failed compensation waits for an operator: abandon leaves the rest as it is', async () => {
    const cloud = await onV1('comp-abandon');
    fast.runtime.fail({ op: 'waitHealthy', service: 'api', instance: 'ctl1-8002', times: 1 });
    fast.runtime.fail({ op: 'restoreInstance', service: 'api', instance: 'ctl1-8002', times: 1 });
    const handle = await startRollout(cloud, 2, spec(cloud, 'x/api:v2'), spec(cloud, 'x/api:v1'));
    expect(await waitForGate(handle)).toMatchObject({ kind: 'compensation-failed' });
    await handle.executeUpdate(resolveUpdate, { args: [{ action: 'abandon', author: 'jest' }] });
    const result = await handle.result();

    expect(result.status).toBe('failed');
    expect(result.reason).toMatch(
      /then compensation of api\/ctl1-8002 failed: .* \(abandoned by operator\)$/,
    );
    // The unwinding stopped at 8002: 8001 was not touched, and still runs v2.
    expect(order(cloud, 'restoreInstance')).toEqual(['ctl1-8002']);
    expect(containers(cloud)[`pb-${cloud}-api-ctl1-8001`]).toBe('v2 r2');
    // A second decision is refused: nothing waits any more.
    await expect(
      handle.executeUpdate(resolveUpdate, { args: [{ action: 'retry', author: 'jest' }] }),
    ).rejects.toThrow();
  }, 30_000);

  test('onFailure: pause touches nothing until the operator says rollback', async () => {
    const cloud = await onV1('pause-rollback', { onFailure: 'pause' });
    const handle = await startRollout(
      cloud,
      2,
      spec(cloud, 'x/api:broken', { onFailure: 'pause' }),
      spec(cloud, 'x/api:v1', { onFailure: 'pause' }),
    );
    const block = await waitForGate(handle);

    expect(block).toMatchObject({ kind: 'rollout-failed', allowed: ['rollback', 'abandon'] });
    expect(block.reason).toContain('failed its health gate');
    expect(fast.runtime.calls(cloud, 'restoreInstance')).toEqual([]);
    expect(containers(cloud)[`pb-${cloud}-api-ctl1-8001`]).toBe('broken r2');
    await expect(
      handle.executeUpdate(resolveUpdate, { args: [{ action: 'retry', author: 'jest' }] }),
    ).rejects.toMatchObject({ cause: { message: expect.stringMatching(/"retry" is not possible now/) } });
    await handle.executeUpdate(resolveUpdate, { args: [{ action: 'rollback', author: 'jest' }] });
    const result = await handle.result();

    expect(result.status).toBe('rolled-back');
    expect(order(cloud, 'restoreInstance')).toEqual(['ctl1-8001']);
    expect(containers(cloud)).toEqual(active(cloud, 'v1', 1));
  }, 30_000);

  test('onFailure: pause, then abandon: no compensation, the failure stays visible', async () => {
    const cloud = await onV1('pause-abandon', { onFailure: 'pause' });
    const handle = await startRollout(
      cloud,
      2,
      spec(cloud, 'x/api:broken', { onFailure: 'pause' }),
      spec(cloud, 'x/api:v1', { onFailure: 'pause' }),
    );
    await waitForGate(handle);
    await handle.executeUpdate(resolveUpdate, { args: [{ action: 'abandon', author: 'jest' }] });
    const result = await handle.result();

    expect(result.status).toBe('failed');
    expect(result.reason).toMatch(/\(rollback declined by operator\)$/);
    expect(fast.runtime.calls(cloud, 'restoreInstance')).toEqual([]);
    expect(containers(cloud)[`pb-${cloud}-api-ctl1-8001`]).toBe('broken r2');
  }, 30_000);
});
