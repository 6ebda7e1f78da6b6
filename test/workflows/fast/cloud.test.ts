// Fast tests of a cloud's entity workflow (src/workflows/cloud.ts) with the record-store fake:
// revision rows, no busy race, CLOUD_BUSY, rollback (with and without toRevision), NOT_FOUND,
// continue-as-new with bounded state, and a legacy state moving into the store.
import { WithStartWorkflowOperation, type WorkflowHandle } from '@temporalio/client';
import type { CloudRecord } from '../../../src/record/schema';
import { cloudWorkflow } from '../../../src/workflows';
import type { CloudWorkflowInput } from '../../../src/workflows/cloud';
import { cloudWorkflowId, serviceWorkflowId } from '../../../src/workflows/ids';
import {
  applyUpdate,
  cloudStateQuery,
  resolveUpdate,
  rollbackUpdate,
  serviceProgressQuery,
  syncStoreSignal,
  type ChangeAccepted,
  type RollbackPayload,
} from '../../../src/workflows/messages';
import type { ChangeResult, LegacyCloudState, Revision } from '../../../src/workflows/types';
import { fastRecord, fastRecordInput, serviceOf, type FastService } from '../../support/fastRecords';
import { cloudName, eventually, startFastEnv, type FastEnv } from '../../support/timeSkipping';

let fast: FastEnv;
beforeAll(async () => {
  fast = await startFastEnv();
}, 120_000);
afterAll(() => fast?.shutdown(), 30_000);

/** api and db, one instance each; api's image and policy vary. */
function services(
  api: string,
  db = 'x/db:v1',
  apiOptions: Partial<FastService> = {},
): Record<string, FastService> {
  return {
    db: { image: db, ports: [8001] },
    api: { image: api, ports: [8101], dependsOn: ['db'], ...apiOptions },
  };
}

/** As PatchbayClient.apply: update-with-start, the cloud's workflow started if it is new. */
function apply(
  cloud: string,
  record: Record<string, FastService>,
  extra: Partial<CloudWorkflowInput> = {},
): Promise<ChangeAccepted> {
  return fast.client.workflow.executeUpdateWithStart(applyUpdate, {
    args: [{ record: fastRecordInput(cloud, record), message: 'fast test', author: 'jest' }],
    startWorkflowOperation: new WithStartWorkflowOperation(cloudWorkflow, {
      workflowId: cloudWorkflowId(cloud),
      taskQueue: fast.taskQueue,
      args: [{ name: cloud, ...extra }],
      workflowIdConflictPolicy: 'USE_EXISTING',
    }),
  });
}

const cloudHandle = (cloud: string): WorkflowHandle<typeof cloudWorkflow> =>
  fast.client.workflow.getHandle(cloudWorkflowId(cloud));

function rollback(cloud: string, payload: Omit<RollbackPayload, 'author'>): Promise<ChangeAccepted> {
  return cloudHandle(cloud).executeUpdate(rollbackUpdate, { args: [{ author: 'jest', ...payload }] });
}

/** The documented way to the outcome: the result of cloud:<name>:r<N>. */
const outcome = (accepted: ChangeAccepted): Promise<ChangeResult> =>
  fast.client.workflow.getHandle(accepted.workflowId).result();

const image = (cloud: string, service: string): string | undefined =>
  [...fast.runtime.containers.values()].find((c) => c.cloud === cloud && c.service === service && c.running)
    ?.image;

describe('cloud workflow (time-skipping, in-memory runtime and record store)', () => {
  test('an apply writes its revision to the store: accepted, then finished with the outcome', async () => {
    const cloud = cloudName('apply');
    const accepted = await apply(cloud, services('x/api:v1'));
    expect(accepted).toEqual({ revision: 1, workflowId: `cloud:${cloud}:r1` });
    expect((await outcome(accepted)).outcome).toBe('applied');

    const [row] = fast.store.rows(cloud);
    expect(row).toMatchObject({ number: 1, kind: 'apply', author: 'jest', outcome: 'applied' });
    expect(row!.services?.map((s) => [s.service, s.status])).toEqual([
      ['db', 'succeeded'],
      ['api', 'succeeded'],
    ]);
    const calls = fast.store.calls.filter((c) => c.cloud === cloud).map((c) => `${c.activity} r${c.number}`);
    expect(calls.indexOf('storeRevisionAccepted r1')).toBeLessThan(calls.indexOf('storeRevisionFinished r1'));
    expect(fast.store.clouds.get(cloud)).toMatchObject({
      currentRevision: 1,
      lastRevision: 1,
      activeRevision: null,
    });
    expect(await cloudHandle(cloud).query(cloudStateQuery)).toEqual({
      name: cloud,
      last: 1,
      current: 1,
      active: null,
    });
    expect(image(cloud, 'api')).toBe('x/api:v1');
  }, 30_000);

  test('back-to-back applies, each after the previous result, are never refused as busy', async () => {
    const cloud = cloudName('b2b');
    for (let i = 1; i <= 12; i++) {
      const accepted = await apply(cloud, services(i % 2 ? 'x/api:v1' : 'x/api:v2'));
      expect(accepted.revision).toBe(i);
      expect((await outcome(accepted)).outcome).toBe('applied');
    }
    expect(fast.store.rows(cloud).map((r) => r.outcome)).toEqual(Array(12).fill('applied'));
    expect(image(cloud, 'api')).toBe('x/api:v2');
  }, 30_000);

  test('a second apply while a change runs is refused with CLOUD_BUSY and touches nothing', async () => {
    const cloud = cloudName('busy');
    // Revision 1 waits for an operator (its api never passes the gate, onFailure: pause).
    const first = await apply(cloud, services('x/api:broken', 'x/db:v1', { onFailure: 'pause' }));
    const service = fast.client.workflow.getHandle(serviceWorkflowId(cloud, 1, 'api'));
    await eventually('the operator gate', () =>
      service.query(serviceProgressQuery).then(
        (p) => p.blocked,
        () => null, // not started yet
      ),
    );
    const started = fast.runtime.calls(cloud, 'startInstance').length;

    const refused = await apply(cloud, services('x/api:v2')).catch((e: unknown) => e);
    expect(refused).toMatchObject({
      cause: { type: 'CLOUD_BUSY', message: expect.stringContaining(`revision 1 (apply by jest`) },
    });
    expect(fast.store.rows(cloud).map((r) => r.number)).toEqual([1]);
    expect(await cloudHandle(cloud).query(cloudStateQuery)).toMatchObject({
      last: 1,
      active: { revision: 1 },
    });
    expect(fast.runtime.calls(cloud, 'startInstance')).toHaveLength(started);

    await service.executeUpdate(resolveUpdate, { args: [{ action: 'rollback', author: 'jest' }] });
    expect((await outcome(first)).outcome).toBe('rolled-back');
    expect(fast.store.rows(cloud)[0]?.outcome).toBe('rolled-back');
    // Free again: the next apply is revision 2.
    const next = await apply(cloud, services('x/api:v2'));
    expect(next.revision).toBe(2);
    expect((await outcome(next)).outcome).toBe('applied');
  }, 30_000);

  test('rollback takes one service back: to the last different applied spec, or to a given revision', async () => {
    const cloud = cloudName('rollback');
    for (const record of [services('x/api:v1'), services('x/api:v2'), services('x/api:v2', 'x/db:v2')])
      expect((await outcome(await apply(cloud, record))).outcome).toBe('applied');

    // Without toRevision: revision 3's api is v2, so the source is revision 1 (2 has the same spec).
    const back = await rollback(cloud, { service: 'api' });
    expect(back.revision).toBe(4);
    expect((await outcome(back)).outcome).toBe('applied');
    expect(image(cloud, 'api')).toBe('x/api:v1');
    expect(image(cloud, 'db')).toBe('x/db:v2'); // the rest of the current record stays
    const r4 = fast.store.rows(cloud)[3]!;
    expect(r4).toMatchObject({
      kind: 'rollback',
      rollbackOf: { service: 'api', toRevision: 1 },
      outcome: 'applied',
    });
    expect(serviceOf(r4.record, 'api').image).toBe('x/api:v1');
    expect(r4.message).toBe('rollback api to revision 1');

    // With toRevision.
    const forward = await rollback(cloud, { service: 'api', toRevision: 2, message: 'v2 again' });
    expect(forward.revision).toBe(5);
    expect((await outcome(forward)).outcome).toBe('applied');
    expect(image(cloud, 'api')).toBe('x/api:v2');
    expect(fast.store.rows(cloud)[4]).toMatchObject({
      rollbackOf: { service: 'api', toRevision: 2 },
      message: 'v2 again',
    });
  }, 30_000);

  test('rollback to an unknown revision is refused with NOT_FOUND and starts nothing', async () => {
    const cloud = cloudName('notfound');
    expect((await outcome(await apply(cloud, services('x/api:v1')))).outcome).toBe('applied');

    await expect(rollback(cloud, { service: 'api', toRevision: 99 })).rejects.toMatchObject({
      cause: { type: 'NOT_FOUND', message: `cloud ${cloud} has no revision 99` },
    });
    // Nothing earlier differs either.
    await expect(rollback(cloud, { service: 'api' })).rejects.toMatchObject({ cause: { type: 'NOT_FOUND' } });
    // An unknown service is refused by the validator.
    await expect(rollback(cloud, { service: 'nova' })).rejects.toMatchObject({
      cause: { type: 'NOT_FOUND' },
    });
    expect(fast.store.rows(cloud)).toHaveLength(1);
    expect(await cloudHandle(cloud).query(cloudStateQuery)).toMatchObject({
      last: 1,
      current: 1,
      active: null,
    });
  }, 30_000);

  test('continue-as-new keeps the carried state the same size as revisions grow', async () => {
    const cloud = cloudName('can');
    let runId: string | undefined;
    for (let i = 1; i <= 9; i++) {
      const accepted = await apply(cloud, services(i % 2 ? 'x/api:v1' : 'x/api:v2'), {
        maxHistoryEvents: 20,
      });
      expect(accepted.revision).toBe(i);
      expect((await outcome(accepted)).outcome).toBe('applied');
      // Idle, with more than 20 events: the cloud continues as new before it takes the next apply.
      // (An apply that arrives first is taken first: back-to-back applies postpone continue-as-new.)
      const handledBy = (await fast.client.workflow.getHandle(accepted.workflowId).describe()).parentExecution
        ?.runId;
      expect(handledBy).toBeDefined();
      runId = await eventually('continue-as-new', async () => {
        const d = await cloudHandle(cloud).describe();
        return d.runId !== handledBy && d.status.name === 'RUNNING' && d.runId;
      });
    }
    /** The input each run was continued with (bytes), walking back from the latest run to the first. */
    const carriedSizes = async (): Promise<number[]> => {
      const sizes: number[] = [];
      let run: string | undefined = runId;
      while (run) {
        const history = await fast.client.workflow.getHandle(cloudWorkflowId(cloud), run).fetchHistory();
        const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
        run = started?.continuedExecutionRunId ?? undefined;
        if (run) sizes.unshift(started?.input?.payloads?.[0]?.data?.length ?? 0);
      }
      return sizes;
    };
    const sizes = await carriedSizes();
    expect(sizes).toHaveLength(9);
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(4);
    // The state went along: revision 9 is current, every revision is in the store. (A query that
    // reaches a run as it continues as new may not be answered: ask again.)
    const state = await eventually('the state of the latest run', () =>
      fast.client
        .withDeadline(Date.now() + 2_000, () => cloudHandle(cloud).query(cloudStateQuery))
        .catch(() => null),
    );
    expect(state).toEqual({ name: cloud, last: 9, current: 9, active: null });
    expect(fast.store.rows(cloud).map((r) => r.number)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  }, 30_000);

  test('back-to-back applies leave no idle moment, yet continue-as-new hands the running change over', async () => {
    const cloud = cloudName('handover');
    let accepted = await apply(cloud, services('x/api:v1'), { maxHistoryEvents: 20 });
    for (let i = 2; i <= 12; i++) {
      expect((await outcome(accepted)).outcome).toBe('applied');
      // The next apply right after the result: the cloud is free, never refused as busy.
      accepted = await cloudHandle(cloud).executeUpdate(applyUpdate, {
        args: [
          {
            record: fastRecordInput(cloud, services(i % 2 ? 'x/api:v1' : 'x/api:v2')),
            message: `b2b ${i}`,
            author: 'jest',
          },
        ],
      });
      expect(accepted.revision).toBe(i);
    }
    expect((await outcome(accepted)).outcome).toBe('applied');
    // Every run stayed near the limit: none grew with the stream of applies.
    const lengths: number[] = [];
    let run: string | undefined = (await cloudHandle(cloud).describe()).runId;
    while (run) {
      const history = await fast.client.workflow.getHandle(cloudWorkflowId(cloud), run).fetchHistory();
      lengths.push(history.events?.length ?? 0);
      run =
        history.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId ?? undefined;
    }
    expect(lengths.length).toBeGreaterThanOrEqual(3);
    expect(Math.max(...lengths)).toBeLessThan(60);
    const state = await eventually('the last change recorded', async () => {
      const s = await fast.client
        .withDeadline(Date.now() + 2_000, () => cloudHandle(cloud).query(cloudStateQuery))
        .catch(() => null);
      return s?.current === 12 && s.active === null && s;
    });
    expect(state).toEqual({ name: cloud, last: 12, current: 12, active: null });
    expect(fast.store.rows(cloud).map((r) => `${r.number} ${r.outcome}`)).toEqual(
      Array.from({ length: 12 }, (_, i) => `${i + 1} applied`),
    );
  }, 30_000);

  test('a legacy state (every revision in the workflow) moves into the store on patchbay.syncStore', async () => {
    const cloud = cloudName('legacy');
    const revision = (number: number, api: string, outcome: Revision['outcome']): Revision => ({
      number,
      record: fastRecord(cloud, services(api)) as CloudRecord,
      message: `r${number}`,
      author: 'old-version',
      createdAt: `2025-01-0${number}T00:00:00.000Z`,
      finishedAt: `2025-01-0${number}T00:05:00.000Z`,
      outcome,
      ...(outcome === 'failed' ? { reason: 'api: health gate' } : {}),
      services: [],
    });
    const legacy: LegacyCloudState = {
      name: cloud,
      revisions: [
        revision(1, 'x/api:v1', 'applied'),
        revision(2, 'x/api:v2', 'applied'),
        revision(3, 'x/api:v3', 'failed'),
      ],
      current: 2,
      active: null,
    };
    const handle = await fast.client.workflow.start(cloudWorkflow, {
      taskQueue: fast.taskQueue,
      workflowId: cloudWorkflowId(cloud),
      args: [{ name: cloud, state: legacy }],
    });
    expect(await handle.query(cloudStateQuery)).toEqual({ name: cloud, last: 3, current: 2, active: null });
    expect(fast.store.rows(cloud)).toEqual([]);

    await handle.signal(syncStoreSignal);
    const rows = await eventually(
      'the imported revisions',
      () => fast.store.rows(cloud).length === 3 && fast.store.rows(cloud),
    );
    expect(rows.map((r) => [r.number, r.outcome, r.author, r.workflowId])).toEqual([
      [1, 'applied', 'old-version', `cloud:${cloud}:r1`],
      [2, 'applied', 'old-version', `cloud:${cloud}:r2`],
      [3, 'failed', 'old-version', `cloud:${cloud}:r3`],
    ]);
    expect(fast.store.clouds.get(cloud)).toMatchObject({
      currentRevision: 2,
      lastRevision: 3,
      activeRevision: null,
    });

    // The store now answers rollbacks: api goes back from revision 2 (v2) to revision 1 (v1).
    const back = await rollback(cloud, { service: 'api' });
    expect(back.revision).toBe(4);
    expect((await outcome(back)).outcome).toBe('applied');
    expect(fast.store.rows(cloud)[3]).toMatchObject({
      rollbackOf: { service: 'api', toRevision: 1 },
      outcome: 'applied',
    });
    expect(image(cloud, 'api')).toBe('x/api:v1');
    // The import ran once.
    expect(
      fast.store.calls.filter((c) => c.cloud === cloud && c.activity === 'storeImportRevisions'),
    ).toHaveLength(1);
  }, 30_000);
});
