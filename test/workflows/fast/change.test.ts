// Fast tests of one revision (src/workflows/change.ts): services in dependency order, a later
// failure reverting the earlier services in reverse order, and a preflight that touches nothing (and
// names the hosts that did not answer when they alone refused it).
import { ActivityFailure, RetryState, TimeoutFailure } from '@temporalio/common';
import { failure } from '../../../src/lib/failures';
import type { CloudRecord } from '../../../src/record/schema';
import { changeWorkflow } from '../../../src/workflows';
import { explainPickup } from '../../../src/workflows/activityProxies';
import { unreachableHostOf } from '../../../src/workflows/failures';
import { changeWorkflowId } from '../../../src/workflows/ids';
import type { ChangeResult } from '../../../src/workflows/types';
import { fastRecord } from '../../support/fastRecords';
import { cloudName, startFastEnv, type FastEnv } from '../../support/timeSkipping';

let fast: FastEnv;
beforeAll(async () => {
  fast = await startFastEnv();
}, 120_000);
afterAll(() => fast?.shutdown(), 30_000);

/** db <- api <- web (web depends on api, api on db); cache depends on nothing. */
function threeTier(
  cloud: string,
  images: { db: string; api: string; web: string; cache?: string },
): CloudRecord {
  return fastRecord(cloud, {
    web: { image: images.web, ports: [8201, 8202], dependsOn: ['api'] },
    api: { image: images.api, ports: [8101, 8102], dependsOn: ['db'] },
    db: { image: images.db, ports: [8001] },
    cache: { image: images.cache ?? 'x/cache:v1', ports: [8301] },
  });
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

/** Service of each call of an activity for a revision, in call order. */
const services = (
  cloud: string,
  op: 'startInstance' | 'restoreInstance' | 'retireInstance',
  revision: number,
) =>
  fast.runtime
    .calls(cloud, op)
    .filter((e) => e.revision === revision)
    .map((e) => `${e.service}/${e.instance}`);

function containers(cloud: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const c of [...fast.runtime.containers.values()].filter((c) => c.cloud === cloud))
    out[c.name] = `${c.version} r${c.revision}${c.running ? '' : ' stopped'}`;
  return out;
}

const V1 = { db: 'x/db:v1', api: 'x/api:v1', web: 'x/web:v1' };
const V2 = { db: 'x/db:v2', api: 'x/api:v2', web: 'x/web:v2' };

async function onV1(prefix: string): Promise<{ cloud: string; r1: CloudRecord }> {
  const cloud = cloudName(prefix);
  const r1 = threeTier(cloud, V1);
  const created = await change(cloud, 1, null, r1);
  expect(created.outcome).toBe('applied');
  return { cloud, r1 };
}

describe('change workflow (time-skipping, in-memory runtime)', () => {
  test('services go in dependency order; old containers are removed only once the whole revision applied', async () => {
    const { cloud, r1 } = await onV1('order');
    // Creation: every db instance before any api one, every api one before any web one.
    const created = services(cloud, 'startInstance', 1);
    const last = (svc: string) =>
      Math.max(...created.flatMap((s, i) => (s.startsWith(`${svc}/`) ? [i] : [])));
    const first = (svc: string) => created.findIndex((s) => s.startsWith(`${svc}/`));
    expect(last('db')).toBeLessThan(first('api'));
    expect(last('api')).toBeLessThan(first('web'));

    const result = await change(cloud, 2, r1, threeTier(cloud, V2));
    expect(result.outcome).toBe('applied');
    expect(result.services.map((s) => [s.service, s.action, s.status])).toEqual(
      expect.arrayContaining([
        ['db', 'patch', 'succeeded'],
        ['api', 'patch', 'succeeded'],
        ['web', 'patch', 'succeeded'],
        ['cache', 'unchanged', 'unchanged'],
      ]),
    );
    const patched = services(cloud, 'startInstance', 2);
    expect(patched).toEqual([
      'db/ctl1-8001',
      'api/ctl1-8101',
      'api/ctl1-8102',
      'web/ctl1-8201',
      'web/ctl1-8202',
    ]);
    // Committed: the kept old containers are gone, the new ones serve.
    expect(fast.runtime.calls(cloud, 'commitInstance')).toHaveLength(5);
    expect(Object.values(containers(cloud)).sort()).toEqual([
      'v1 r1', // cache, untouched
      'v2 r2',
      'v2 r2',
      'v2 r2',
      'v2 r2',
      'v2 r2',
    ]);
    // The outcome went to the record store before the result became visible.
    expect(fast.store.calls).toContainEqual({ activity: 'storeRevisionFinished', cloud, number: 2 });
  }, 30_000);

  test('a failure in a later service reverts the services already changed, in reverse order', async () => {
    const { cloud, r1 } = await onV1('revert');
    const before = containers(cloud);
    // web is last; its new image never passes the health gate.
    const result = await change(cloud, 2, r1, threeTier(cloud, { ...V2, web: 'x/web:broken' }));

    expect(result.outcome).toBe('rolled-back');
    expect(result.reason).toMatch(/^web: .*failed its health gate/);
    expect(Object.fromEntries(result.services.map((s) => [s.service, s.status]))).toEqual({
      db: 'reverted',
      cache: 'unchanged',
      api: 'reverted',
      web: 'rolled-back',
    });
    // web compensates itself first; then api (its instances newest first), then db.
    expect(services(cloud, 'restoreInstance', 2)).toEqual([
      'web/ctl1-8201',
      'api/ctl1-8102',
      'api/ctl1-8101',
      'db/ctl1-8001',
    ]);
    expect(fast.runtime.calls(cloud, 'commitInstance')).toEqual([]);
    // The cloud is on revision 1 as a whole, exactly the containers it had.
    expect(containers(cloud)).toEqual(before);
  }, 30_000);

  test('a failed preflight refuses the whole revision and touches nothing', async () => {
    const { cloud, r1 } = await onV1('preflight');
    const before = containers(cloud);
    const observed = fast.runtime.calls(cloud, 'observeService').length;
    fast.runtime.fail({
      op: 'preflightService',
      cloud,
      service: 'web',
      type: 'PREFLIGHT_FAILED',
      message: 'image x/web:v2 is not on host ctl1 (scripted)',
    });
    const result = await change(cloud, 2, r1, threeTier(cloud, V2));

    expect(result).toMatchObject({ outcome: 'failed', services: [] });
    expect(result.reason).toContain('image x/web:v2 is not on host ctl1');
    expect(result.unreachableHosts).toBeUndefined(); // not a host that did not answer
    // Every service was preflighted; none was observed, retired or started.
    expect(
      new Set(
        fast.runtime
          .calls(cloud, 'preflightService')
          .slice(-4)
          .map((e) => e.service),
      ),
    ).toEqual(new Set(['db', 'api', 'web', 'cache']));
    expect(fast.runtime.calls(cloud, 'observeService')).toHaveLength(observed);
    expect(services(cloud, 'retireInstance', 2)).toEqual([]);
    expect(services(cloud, 'startInstance', 2)).toEqual([]);
    expect(containers(cloud)).toEqual(before);
  }, 30_000);

  test('a preflight refused only because hosts did not answer names them (unreachableHosts); with another problem besides, it does not', async () => {
    const { cloud, r1 } = await onV1('unreachable');
    const before = containers(cloud);
    const message = `host ctl1: no worker took preflightService from task queue patchbay-agent:${cloud}:ctl1 within 2m (is the host's agent running?)`;
    // Every service's preflight on ctl1 times out waiting for the host's agent (as explainPickup says).
    fast.runtime.fail({
      op: 'preflightService',
      cloud,
      times: 4,
      type: 'HOST_UNREACHABLE',
      message,
      details: { host: 'ctl1' },
    });
    const refused = await change(cloud, 2, r1, threeTier(cloud, V2));

    expect(refused).toMatchObject({ outcome: 'failed', services: [], unreachableHosts: ['ctl1'] });
    expect(refused.reason).toBe([message, message, message, message].join('; '));
    expect(services(cloud, 'retireInstance', 2)).toEqual([]);
    expect(services(cloud, 'startInstance', 2)).toEqual([]);
    expect(containers(cloud)).toEqual(before);

    // The host does not answer, and web's new image is missing besides: not only the hosts.
    fast.runtime.fail({
      op: 'preflightService',
      cloud,
      service: 'web',
      times: 1,
      type: 'PREFLIGHT_FAILED',
      message: 'image x/web:v3 is not on host ctl1 (scripted)',
    });
    fast.runtime.fail({
      op: 'preflightService',
      cloud,
      times: 3,
      type: 'HOST_UNREACHABLE',
      message,
      details: { host: 'ctl1' },
    });
    const mixed = await change(cloud, 3, r1, threeTier(cloud, { ...V2, web: 'x/web:v3' }));
    expect(mixed).toMatchObject({ outcome: 'failed', services: [] });
    expect(mixed.reason).toContain('image x/web:v3 is not on host ctl1');
    expect(mixed.reason).toContain(message);
    expect(mixed.unreachableHosts).toBeUndefined();
    expect(containers(cloud)).toEqual(before);
  }, 30_000);
});

test('the failure explainPickup makes of a pickup timeout carries its host, as change.ts reads it', async () => {
  const timedOut = new ActivityFailure(
    'activity timed out',
    'preflightService',
    '1',
    RetryState.NON_RETRYABLE_FAILURE,
    undefined,
    new TimeoutFailure('activity ScheduleToStart timeout', undefined, 'SCHEDULE_TO_START'),
  );
  const stubs = explainPickup({ preflightService: () => Promise.reject(timedOut) }, 'agent-q', 'ctl2');
  const error: unknown = await stubs.preflightService().catch((e: unknown) => e);
  expect(error).toMatchObject({ type: 'HOST_UNREACHABLE', details: [{ host: 'ctl2' }] });
  expect(unreachableHostOf(error)).toBe('ctl2');
  // Wrapped as an activity's failure (an agent's own refusal) it still counts; any other type does not.
  expect(
    unreachableHostOf(
      new ActivityFailure(
        'failed',
        'preflightService',
        '2',
        RetryState.NON_RETRYABLE_FAILURE,
        undefined,
        error as Error,
      ),
    ),
  ).toBe('ctl2');
  expect(unreachableHostOf(failure('PREFLIGHT_FAILED', 'image missing', { host: 'ctl2' }))).toBeUndefined();
  expect(unreachableHostOf(failure('HOST_UNREACHABLE', 'no host named'))).toBeUndefined();
});
