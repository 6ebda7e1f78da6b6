// The record store behind the cloud workflow, on a real Temporal server, real Docker fixtures and a
// real PostgreSQL: back-to-back applies are never refused as busy, every revision is a row, a cloud
// whose history was kept in workflow state (versions before the store) moves it into the store, and
// PostgreSQL stopped in the middle of a patch delays the change without losing a row.
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { PatchbayClient } from '../../src/client/patchbayClient';
import { temporalConfig } from '../../src/lib/config';
import { CloudRecordSchema, type CloudRecord } from '../../src/record/schema';
import { openDb, type Db } from '../../src/store/db';
import { RevisionStore } from '../../src/store/revisionStore';
import { cloudWorkflow } from '../../src/workflows/cloud';
import { cloudWorkflowId } from '../../src/workflows/ids';
import { applyUpdate, cloudStateQuery, syncStoreSignal } from '../../src/workflows/messages';
import type { ChangeResult, LegacyCloudState } from '../../src/workflows/types';
import {
  baseEnv,
  cloudName,
  fixtureRecord,
  removeCloudContainers,
  servedVersions,
  startWorker,
  waitFor,
  type WorkerProcess,
} from '../support/harness';
import { FIXTURE } from '../support/fixtures';
import { startTestPostgres, stopTestPostgres, testStoreUrl } from '../support/store';

jest.setTimeout(600_000);

const QUEUE = 'record-store-it';
let worker: WorkerProcess;
let client: PatchbayClient;
let db: Db;
let store: RevisionStore;
const clouds: string[] = [];

beforeAll(async () => {
  worker = await startWorker(QUEUE);
  client = await PatchbayClient.connect(temporalConfig(baseEnv(QUEUE)));
  db = openDb(testStoreUrl());
  store = new RevisionStore(db);
});
afterAll(async () => {
  await client?.close();
  await worker?.stop();
  await db?.close();
  for (const cloud of clouds) await removeCloudContainers(cloud);
});

const record = (cloud: string, image: string, port: number): CloudRecord =>
  CloudRecordSchema.parse(fixtureRecord(cloud, { api: { image, ports: [port] } }));

/** Back-to-back applies, each sent the moment the previous change finished (CI's budget: 100). */
const APPLIES = 100;

test(`${APPLIES} back-to-back applies through the documented update: none refused as busy, ${APPLIES} rows`, async () => {
  const cloud = cloudName('b2b');
  clouds.push(cloud);
  const rec = record(cloud, FIXTURE.v1, 18901);
  // The first apply starts the cloud workflow (update-with-start, as the client does).
  let accepted = await client.apply(rec, { message: 'apply 1', author: 'jest' });
  const handle = client.client.workflow.getHandle(cloudWorkflowId(cloud));
  let refused = 0;
  const started = Date.now();
  for (let i = 1; i <= APPLIES; i++) {
    // The documented way to wait: the result of cloud:<name>:r<N>.
    const result = (await client.client.workflow.getHandle(accepted.workflowId).result()) as ChangeResult;
    expect(result.outcome).toBe('applied');
    if (i === APPLIES) break;
    for (;;) {
      try {
        accepted = await handle.executeUpdate(applyUpdate, {
          args: [{ record: rec, message: `apply ${i + 1}`, author: 'jest' }],
        });
        break;
      } catch (error) {
        if (
          error instanceof WorkflowUpdateFailedError &&
          error.cause instanceof ApplicationFailure &&
          error.cause.type === 'CLOUD_BUSY'
        ) {
          refused++;
          await new Promise((r) => setTimeout(r, 20));
          continue;
        }
        throw error;
      }
    }
  }
  const seconds = (Date.now() - started) / 1000;
  process.stdout.write(
    `${APPLIES} back-to-back applies: ${seconds.toFixed(1)} s, ${refused} refused as busy\n`,
  );
  expect(refused).toBe(0);
  expect(await store.count(cloud)).toBe(APPLIES);
  const rows = await db.query<{ outcome: string; n: string }>(
    'SELECT outcome, count(*) AS n FROM revisions WHERE cloud = $1 GROUP BY outcome',
    [cloud],
  );
  expect(rows).toEqual([{ outcome: 'applied', n: String(APPLIES) }]);
  expect(await store.cloud(cloud)).toMatchObject({
    currentRevision: APPLIES,
    lastRevision: APPLIES,
    activeRevision: null,
  });
  expect(await handle.query(cloudStateQuery)).toMatchObject({
    current: APPLIES,
    last: APPLIES,
    active: null,
  });
});

test('a cloud whose history was kept in workflow state (before the store) moves it into the store', async () => {
  const cloud = cloudName('legacy');
  clouds.push(cloud);
  const v1 = record(cloud, FIXTURE.v1, 18911);
  const v2 = record(cloud, FIXTURE.v2, 18911);
  // The state an older version carried across continue-as-new: every revision inside the workflow.
  const at = new Date(Date.now() - 3_600_000).toISOString();
  const legacy: LegacyCloudState = {
    name: cloud,
    current: 2,
    active: null,
    revisions: [
      {
        number: 1,
        record: v1,
        message: 'first',
        author: 'old',
        createdAt: at,
        finishedAt: at,
        outcome: 'applied',
      },
      {
        number: 2,
        record: v2,
        message: 'second',
        author: 'old',
        createdAt: at,
        finishedAt: at,
        outcome: 'applied',
      },
      {
        number: 3,
        record: record(cloud, FIXTURE.broken, 18911),
        message: 'bad',
        author: 'old',
        createdAt: at,
        finishedAt: at,
        outcome: 'rolled-back',
        reason: 'health gate failed',
      },
    ],
  };
  const handle = await client.client.workflow.start(cloudWorkflow, {
    workflowId: cloudWorkflowId(cloud),
    taskQueue: QUEUE,
    args: [{ name: cloud, state: legacy }],
  });
  expect(await store.count(cloud)).toBe(0);
  await handle.signal(syncStoreSignal);
  await waitFor('the legacy revisions in the store', async () => (await store.count(cloud)) === 3);
  expect(
    (await store.history(cloud)).map((r) => `${r.number} ${r.author} ${r.message} ${r.outcome}`),
  ).toEqual(['3 old bad rolled-back', '2 old second applied', '1 old first applied']);
  expect((await store.revision(cloud, 3))?.reason).toBe('health gate failed');
  expect(await store.cloud(cloud)).toMatchObject({ currentRevision: 2, lastRevision: 3 });
  // The cloud goes on from there: the next revision is 4, made from the current revision 2.
  const accepted = await client.apply(v1, { message: 'after upgrade', author: 'jest' });
  expect(accepted.revision).toBe(4);
  expect((await client.waitForChange(cloud, accepted)).outcome).toBe('applied');
  expect(await servedVersions([18911])).toEqual(['v1']);
  expect(await store.count(cloud)).toBe(4);
  // A rollback finds its source among the imported revisions.
  const rollback = await client.rollback(cloud, {
    service: 'api',
    toRevision: 2,
    message: '',
    author: 'jest',
  });
  expect((await client.waitForChange(cloud, rollback)).outcome).toBe('applied');
  expect(await servedVersions([18911])).toEqual(['v2']);
  expect(await store.revision(cloud, 5)).toMatchObject({
    kind: 'rollback',
    rollbackOf: { service: 'api', toRevision: 2 },
  });
});

test('PostgreSQL stopped in the middle of a patch: the change completes, every row is there', async () => {
  const cloud = cloudName('pgdown');
  clouds.push(cloud);
  const ports = [18921, 18922];
  const rec = (image: string) =>
    CloudRecordSchema.parse(fixtureRecord(cloud, { api: { image, ports, bake: '3s' } }));
  const first = await client.apply(rec(FIXTURE.v1), { message: 'deploy', author: 'jest' });
  expect((await client.waitForChange(cloud, first)).outcome).toBe('applied');

  const accepted = await client.apply(rec(FIXTURE.v2), {
    message: 'patch while the store restarts',
    author: 'jest',
  });
  // The patch is under way (its revision row written); take the database away for a while.
  await stopTestPostgres();
  await new Promise((r) => setTimeout(r, 8_000));
  await startTestPostgres();
  const result = (await client.client.workflow.getHandle(accepted.workflowId).result()) as ChangeResult;
  expect(result.outcome).toBe('applied');
  expect(await servedVersions(ports)).toEqual(['v2', 'v2']);
  const row = await waitFor('the finished row', async () => {
    const r = await store.revision(cloud, 2);
    return r?.outcome === 'applied' ? r : undefined;
  });
  expect(row.message).toBe('patch while the store restarts');
  expect(row.services?.[0]).toMatchObject({ service: 'api', status: 'succeeded' });
  expect(await store.cloud(cloud)).toMatchObject({ currentRevision: 2, activeRevision: null });
  // And the next change is accepted as usual.
  const next = await client.apply(rec(FIXTURE.v1), { message: 'after', author: 'jest' });
  expect((await client.waitForChange(cloud, next)).outcome).toBe('applied');
  expect(await store.count(cloud)).toBe(3);
});
