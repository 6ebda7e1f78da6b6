// The campaign side of the record store against the real PostgreSQL of the integration setup:
// selecting clouds by what they run, planning a campaign's clouds once, outcomes as idempotent rows,
// pages to launch and to roll back, the read view. No Temporal, no Docker.
import { planWaves } from '../../src/campaign/waves';
import { CampaignSpecSchema } from '../../src/campaign/spec';
import { selectionOf } from '../../src/activities/campaignActivities';
import { CloudRecordSchema } from '../../src/record/schema';
import { CampaignStore } from '../../src/store/campaignStore';
import { openDb, type Db } from '../../src/store/db';
import { RevisionStore } from '../../src/store/revisionStore';
import { testEnv } from '../support/env';
import { fixtureRecord } from '../support/harness';

const run = `s${process.pid % 100_000}`;
const cloud = (x: string) => `${run}-${x}`;
let db: Db;
let store: CampaignStore;

/** A cloud in the store whose current revision runs these images (a `keystone` and an `api` service). */
async function cloudRunning(name: string, images: { keystone?: string; api: string }, labels = {}) {
  const revisions = new RevisionStore(db);
  const services: Record<string, { image: string; ports: number[] }> = {
    api: { image: images.api, ports: [1] },
  };
  if (images.keystone) services.keystone = { image: images.keystone, ports: [2] };
  const input = fixtureRecord(name, services);
  input.metadata.labels = { suite: run, ...labels };
  const record = CloudRecordSchema.parse(input);
  const at = new Date().toISOString();
  await revisions.accepted({
    cloud: name,
    number: 1,
    kind: 'apply',
    record,
    author: 'jest',
    message: 'deploy',
    workflowId: `cloud:${name}:r1`,
    createdAt: at,
  });
  await revisions.finished({ cloud: name, number: 1, outcome: 'applied', services: [], finishedAt: at });
}

beforeAll(async () => {
  db = openDb(testEnv('databaseUrl'));
  store = new CampaignStore(db);
  await cloudRunning(cloud('a'), { keystone: 'k:1', api: 'api:1' }, { tier: 'prod' });
  await cloudRunning(cloud('b'), { keystone: 'k:2', api: 'api:1' }, { tier: 'prod' });
  await cloudRunning(cloud('c'), { keystone: 'k:1', api: 'api:1' });
  await cloudRunning(cloud('d'), { api: 'api:1' }, { tier: 'prod' });
});

afterAll(async () => {
  await db?.close();
});

const spec = (clouds: unknown, image = 'k:2') =>
  CampaignSpecSchema.parse({
    apiVersion: 'patchbay/v1',
    kind: 'Campaign',
    metadata: { name: `${run}-k` },
    spec: { clouds, service: 'keystone', image },
  });

test('clouds by what they run: exactly the clouds whose keystone is not the target (none without keystone)', async () => {
  const scope = { matchLabels: { suite: run } };
  expect(await store.select(selectionOf(spec({ selector: scope, running: { notAtTarget: true } })))).toEqual({
    clouds: [cloud('a'), cloud('c')],
    unknown: [],
  });
  expect(
    await store.select(
      selectionOf(
        spec({ selector: { matchLabels: { suite: run, tier: 'prod' } }, running: { image: 'k:1' } }),
      ),
    ),
  ).toEqual({ clouds: [cloud('a')], unknown: [] });
  expect(await store.select(selectionOf(spec({ selector: scope, running: { imageNot: 'k:1' } })))).toEqual({
    clouds: [cloud('b')],
    unknown: [],
  });
  // Names and labels are a union, running narrows it; a name the store does not know is reported.
  expect(
    await store.select(
      selectionOf(spec({ names: [cloud('b'), cloud('c'), cloud('ghost')], running: { notAtTarget: true } })),
    ),
  ).toEqual({ clouds: [cloud('c')], unknown: [cloud('ghost')] });
  // Without running: names and labels as before.
  expect(
    await store.select(
      selectionOf(spec({ names: [cloud('c')], selector: { matchLabels: { suite: run, tier: 'prod' } } })),
    ),
  ).toEqual({ clouds: [cloud('a'), cloud('b'), cloud('c'), cloud('d')], unknown: [] });
});

test('a campaign plans its clouds once; outcomes, pages and rollback pages are rows keyed by campaign + cloud', async () => {
  const id = `${run}-plan`;
  const s = spec({ names: [cloud('a')] });
  const header = {
    name: id,
    service: 'keystone',
    image: 'k:2',
    spec: s,
    startedBy: 'jest',
    startedAt: new Date().toISOString(),
    workflowId: `campaign:${id}`,
    phase: 'resolving' as const,
  };
  await store.begin(header);
  await store.begin({ ...header, phase: 'running' }); // a retry changes nothing
  const clouds = [cloud('a'), cloud('b'), cloud('c')];
  const waves = planWaves(3, [
    { size: 1, approval: false },
    { size: 'rest', approval: false },
  ]);
  expect(await store.plan(id, clouds, [cloud('ghost')], waves)).toEqual({ clouds: 3, unknown: 1 });
  // A retried resolve keeps the first plan, whatever it would select now.
  expect(await store.plan(id, [cloud('d')], [], waves)).toEqual({ clouds: 3, unknown: 1 });
  expect(await store.page(id, 0, 2)).toEqual([
    { cloud: cloud('a'), position: 0, wave: 0 },
    { cloud: cloud('b'), position: 1, wave: 1 },
  ]);
  expect(await store.page(id, 2, 100)).toEqual([{ cloud: cloud('c'), position: 2, wave: 1 }]);

  await store.setOutcome(id, { cloud: cloud('a'), status: 'running' });
  const patched = {
    cloud: cloud('a'),
    status: 'patched' as const,
    revision: 2,
    fromRevision: 1,
    attempts: 1,
  };
  await store.setOutcome(id, patched);
  await store.setOutcome(id, patched); // idempotent
  await store.setOutcome(id, {
    cloud: cloud('b'),
    status: 'rolled-back',
    revision: 2,
    fromRevision: 1,
    reason: 'health gate',
  });
  expect(await store.markNotStarted(id, 2)).toBe(1);
  expect(await store.outcomes(id)).toEqual([
    patched,
    { cloud: cloud('b'), status: 'rolled-back', revision: 2, fromRevision: 1, reason: 'health gate' },
    { cloud: cloud('c'), status: 'not-started' },
    {
      cloud: cloud('ghost'),
      status: 'failed',
      reason: `Patchbay manages no cloud named "${cloud('ghost')}"`,
    },
  ]);
  expect((await store.outcomes(id, 'attention')).map((o) => o.cloud)).toEqual([cloud('b'), cloud('ghost')]);
  expect(await store.outcomes(id, 'none')).toEqual([]);

  // Campaign rollback pages through the patched clouds; a reverted one drops out of the next page.
  expect(await store.patchedPage(id, -1, 100)).toEqual([
    { cloud: cloud('a'), position: 0, wave: 0, fromRevision: 1 },
  ]);
  await store.setRevert(id, cloud('a'), { revertRevision: 3 });
  expect(await store.patchedPage(id, -1, 100)).toEqual([]);
  expect(await store.outcome(id, cloud('a'))).toMatchObject({ status: 'reverted', revertRevision: 3 });

  await store.setPhase(id, { phase: 'halted', haltReason: 'budget', finishedAt: new Date().toISOString() });
  expect(await store.get(id)).toMatchObject({ phase: 'halted', haltReason: 'budget', spec: s });
  const counts = await store.counts(id);
  expect(counts).toEqual(
    expect.arrayContaining([
      { wave: 0, status: 'reverted', n: 1 },
      { wave: 1, status: 'rolled-back', n: 1 },
      { wave: 1, status: 'not-started', n: 1 },
      { wave: null, status: 'failed', n: 1 },
    ]),
  );
  const listed = (await store.list()).find((c) => c.name === id);
  expect(listed?.totals).toEqual({ reverted: 1, 'rolled-back': 1, 'not-started': 1, failed: 1 });

  // Other systems read the documented view.
  const view = await db.query<{ cloud: string; status: string; service: string; image: string }>(
    'SELECT cloud, status, service, image FROM patchbay_campaign_outcomes WHERE campaign = $1 ORDER BY position',
    [id],
  );
  expect(view[0]).toEqual({ cloud: cloud('a'), status: 'reverted', service: 'keystone', image: 'k:2' });
  expect(view).toHaveLength(4);
});

test('rows moved in from a campaign before the store land once, however often the import is retried', async () => {
  const id = `${run}-import`;
  await store.begin({
    name: id,
    service: 'keystone',
    image: 'k:2',
    spec: spec({ names: [cloud('a')] }),
    startedBy: 'jest',
    startedAt: new Date().toISOString(),
    workflowId: `campaign:${id}`,
    phase: 'running',
  });
  const rows = Array.from({ length: 2_500 }, (_, i) => ({
    cloud: `old-${i}`,
    position: i,
    wave: i === 0 ? 0 : 1,
    outcome:
      i < 10 ? { status: 'patched' as const, revision: 2, fromRevision: 1 } : { status: 'pending' as const },
  }));
  await store.importRows(id, rows);
  await store.importRows(id, rows);
  const [n] = await db.query<{ n: string }>('SELECT count(*) AS n FROM campaign_clouds WHERE campaign = $1', [
    id,
  ]);
  expect(Number(n!.n)).toBe(2_500);
  expect((await store.page(id, 2_400, 100)).map((r) => r.position)).toEqual(
    Array.from({ length: 100 }, (_, i) => 2_400 + i),
  );
});
