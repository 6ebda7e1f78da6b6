// Fast tests of the rollout workflow on the Kubernetes side of the runtime boundary
// (src/workflows/runtimes/kubernetes.ts): the same serviceRollout/saga code that drives Docker drives
// an in-memory Kubernetes (scriptedKubernetes.ts) — create, patch, a failed rollout put back, a
// failed after-job put back, removal, the operator gate, and a revert of a succeeded rollout.
import type { WorkflowHandle } from '@temporalio/client';
import { CloudRecordSchema, type ServiceSpec } from '../../../src/record/schema';
import { serviceRevertWorkflow, serviceRolloutWorkflow } from '../../../src/workflows';
import { revertWorkflowId, serviceWorkflowId } from '../../../src/workflows/ids';
import { resolveUpdate, serviceProgressQuery } from '../../../src/workflows/messages';
import type { ServiceResult } from '../../../src/workflows/types';
import { createScriptedKubernetes, type ScriptedKubernetes } from '../../support/scriptedKubernetes';
import { cloudName, eventually, startFastEnv, type FastEnv } from '../../support/timeSkipping';

let fast: FastEnv;
let kube: ScriptedKubernetes;
beforeAll(async () => {
  kube = createScriptedKubernetes();
  fast = await startFastEnv(`fast-k8s-${process.pid}`, { activities: () => kube.activities });
}, 120_000);
afterAll(() => fast?.shutdown(), 30_000);

const runtime = { namespace: 'patchbay-fast' };

function spec(
  cloud: string,
  image: string,
  options: { onFailure?: 'rollback' | 'pause'; afterJob?: string } = {},
): ServiceSpec {
  const record = CloudRecordSchema.parse({
    apiVersion: 'patchbay/v1',
    kind: 'Cloud',
    metadata: { name: cloud },
    spec: {
      runtime: { kubernetes: runtime },
      services: [
        {
          name: 'api',
          image,
          replicas: 3,
          port: 8080,
          health: { http: { path: '/health' }, timeout: '2m', interval: '1s' },
          upgrade: { maxUnavailable: 1, maxSurge: 1, onFailure: options.onFailure ?? 'rollback' },
          jobs: options.afterJob
            ? { after: [{ name: options.afterJob, command: ['true'], on: ['patch', 'update'] }] }
            : undefined,
        },
      ],
    },
  });
  return record.spec.services[0] as ServiceSpec;
}

function start(
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
        hosts: [],
        loadBalancers: [],
        kubernetes: runtime,
      },
    ],
  });
}

const rollout = async (...args: Parameters<typeof start>): Promise<ServiceResult> =>
  (await start(...args)).result();

const running = (cloud: string) => kube.deployments.get(`${cloud}/api`);

async function onV1(prefix: string): Promise<string> {
  const cloud = cloudName(prefix);
  const created = await rollout(cloud, 1, spec(cloud, 'x/api:v1'), null);
  expect([created.action, created.status]).toEqual(['create', 'succeeded']);
  return cloud;
}

test('create, then an unchanged record does nothing, then a patch rolls the one Deployment', async () => {
  const cloud = await onV1('k8s-patch');
  expect(running(cloud)?.spec.image).toBe('x/api:v1');

  const same = await rollout(cloud, 2, spec(cloud, 'x/api:v1'), spec(cloud, 'x/api:v1'));
  expect([same.action, same.status]).toEqual(['unchanged', 'unchanged']);

  const patched = await rollout(cloud, 3, spec(cloud, 'x/api:v2'), spec(cloud, 'x/api:v1'));
  expect([patched.action, patched.status]).toEqual(['patch', 'succeeded']);
  expect(patched.instances).toEqual([
    expect.objectContaining({ instance: 'deployment/api', phase: 'done', detail: '3/3 available' }),
  ]);
  expect(running(cloud)).toMatchObject({ revision: 3, spec: { image: 'x/api:v2' } });
  // The compensation step a revert would use: what the Deployment ran before.
  expect(patched.steps).toEqual([
    {
      kubernetes: expect.objectContaining({
        service: 'api',
        revision: 3,
        previous: expect.objectContaining({ image: 'x/api:v1' }),
      }),
    },
  ]);
  expect(kube.calls(cloud)).toEqual([
    'k8sObserve',
    'k8sApply x/api:v1',
    'k8sWaitRollout done',
    'k8sObserve',
    'k8sObserve',
    'k8sApply x/api:v2',
    'k8sWaitRollout done',
  ]);
});

test('a rollout that never becomes available is put back to the previous spec', async () => {
  const cloud = await onV1('k8s-broken');
  kube.breakImage('x/api:broken');
  const result = await rollout(cloud, 2, spec(cloud, 'x/api:broken'), spec(cloud, 'x/api:v1'));
  expect(result.status).toBe('rolled-back');
  expect(result.reason).toMatch(/did not become available within 120s/);
  expect(running(cloud)?.spec.image).toBe('x/api:v1');
  expect(kube.calls(cloud).slice(-4)).toEqual([
    'k8sApply x/api:broken',
    'k8sWaitRollout failed',
    'k8sRestore x/api:v1',
    'k8sWaitRollout done',
  ]);
});

test('a failed after-job puts the Deployment back too', async () => {
  const cloud = await onV1('k8s-job');
  kube.failJob('migrate-check');
  const result = await rollout(
    cloud,
    2,
    spec(cloud, 'x/api:v2', { afterJob: 'migrate-check' }),
    spec(cloud, 'x/api:v1'),
  );
  expect(result.status).toBe('rolled-back');
  expect(result.reason).toMatch(/job migrate-check of api failed/);
  expect(running(cloud)?.spec.image).toBe('x/api:v1');
});

test('a service no longer in the record: its Deployment is removed', async () => {
  const cloud = await onV1('k8s-remove');
  const result = await rollout(cloud, 2, null, spec(cloud, 'x/api:v1'));
  expect([result.action, result.status]).toEqual(['remove', 'succeeded']);
  expect(running(cloud)).toBeUndefined();
});

test('onFailure pause: the rollout waits for an operator, then rolls back on their word', async () => {
  const cloud = await onV1('k8s-pause');
  kube.breakImage('x/api:bad');
  const handle = await start(
    cloud,
    2,
    spec(cloud, 'x/api:bad', { onFailure: 'pause' }),
    spec(cloud, 'x/api:v1'),
  );
  const blocked = await eventually('the operator gate', async () => {
    await fast.env.sleep(1_000);
    return (await handle.query(serviceProgressQuery)).blocked;
  });
  expect(blocked).toMatchObject({ kind: 'rollout-failed', allowed: ['rollback', 'abandon'] });
  // Nothing is put back while it waits.
  expect(running(cloud)?.spec.image).toBe('x/api:bad');
  await handle.executeUpdate(resolveUpdate, {
    args: [{ action: 'rollback', author: 'jest', note: 'fast test' }],
  });
  const result = await handle.result();
  expect(result.status).toBe('rolled-back');
  expect(running(cloud)?.spec.image).toBe('x/api:v1');
});

test('a revert (a later service failed) puts a succeeded rollout back through the same steps', async () => {
  const cloud = await onV1('k8s-revert');
  const patched = await rollout(cloud, 2, spec(cloud, 'x/api:v2'), spec(cloud, 'x/api:v1'));
  expect(running(cloud)?.spec.image).toBe('x/api:v2');
  const reverted = await fast.client.workflow.execute(serviceRevertWorkflow, {
    taskQueue: fast.taskQueue,
    workflowId: revertWorkflowId(cloud, 2, 'api'),
    args: [{ cloud, revision: 2, service: 'api', steps: patched.steps }],
  });
  expect(reverted).toEqual({ complete: true });
  expect(running(cloud)?.spec.image).toBe('x/api:v1');
});
