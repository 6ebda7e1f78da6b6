// The CLI reads from the record store: the fleet inventory (`clouds`, `--service`), paged history,
// `show` with per-service results, a cloud from before the store moved there on first read, and an
// unreachable store refusing a change before anything is sent.
import net from 'node:net';
import { PatchbayClient } from '../../src/client/patchbayClient';
import { temporalConfig } from '../../src/lib/config';
import { CloudRecordSchema } from '../../src/record/schema';
import { cloudWorkflow } from '../../src/workflows/cloud';
import { cloudWorkflowId } from '../../src/workflows/ids';
import type { LegacyCloudState } from '../../src/workflows/types';
import {
  baseEnv,
  cloudName,
  fixtureRecord,
  removeCloudContainers,
  runCli,
  snapshot,
  startWorker,
  writeRecord,
  type WorkerProcess,
} from '../support/harness';
import { FIXTURE } from '../support/fixtures';

jest.setTimeout(180_000);

const QUEUE = 'store-cli-it';
const SUITE = `inventory-${process.pid}`;
const clouds = { a: cloudName('inv-a'), b: cloudName('inv-b'), c: cloudName('inv-c'), d: cloudName('inv-d') };
let worker: WorkerProcess;
let client: PatchbayClient;

/** A fixture cloud labelled for this suite; keystone and/or db. */
function record(cloud: string, services: { keystone?: string; db?: string }, ports: number[]) {
  const r = fixtureRecord(cloud, {
    ...(services.db ? { db: { image: services.db, ports: [ports[0]!] } } : {}),
    ...(services.keystone ? { keystone: { image: services.keystone, ports: [ports[1] ?? ports[0]!] } } : {}),
  });
  r.metadata.labels = { purpose: 'test', suite: SUITE };
  return r;
}

const records = {
  a: (keystone: string = FIXTURE.v1) => record(clouds.a, { keystone, db: FIXTURE.v1 }, [19101, 19102]),
  b: (keystone: string = FIXTURE.v2) => record(clouds.b, { keystone }, [19103]),
  c: (keystone: string = FIXTURE.v1) => record(clouds.c, { keystone }, [19104]),
  d: () => record(clouds.d, { db: FIXTURE.v1 }, [19105]),
};

function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

async function cliJson(args: string[], env: NodeJS.ProcessEnv = {}) {
  const out = await runCli([...args, '--json'], QUEUE, env);
  if (out.code !== 0) throw new Error(`patchbay ${args.join(' ')} exited ${out.code}: ${out.stderr}`);
  return JSON.parse(out.stdout);
}

beforeAll(async () => {
  worker = await startWorker(QUEUE);
  client = await PatchbayClient.connect(temporalConfig(baseEnv(QUEUE)));
  const applied = await Promise.all(
    (['a', 'b', 'c', 'd'] as const).map((k) => runCli(['apply', writeRecord(records[k]())], QUEUE)),
  );
  expect(applied.map((r) => r.code)).toEqual([0, 0, 0, 0]);
});
afterAll(async () => {
  await client?.close();
  await worker?.stop();
  for (const cloud of Object.values(clouds)) await removeCloudContainers(cloud);
});

test('clouds lists every managed cloud with labels, revision, per-service image, outcome and change state', async () => {
  const inv = await cliJson(['clouds', '--label', `suite=${SUITE}`]);
  expect(inv.total).toBe(4);
  expect(inv.clouds.map((c: { name: string }) => c.name)).toEqual(Object.values(clouds).sort());
  const a = inv.clouds.find((c: { name: string }) => c.name === clouds.a);
  expect(a).toMatchObject({
    labels: { purpose: 'test', suite: SUITE },
    currentRevision: 1,
    lastRevision: 1,
    lastOutcome: 'applied',
    changeRunning: false,
    activeRevision: null,
    services: [
      { service: 'db', image: FIXTURE.v1, version: 'v1' },
      { service: 'keystone', image: FIXTURE.v1, version: 'v1' },
    ],
  });
  const human = await runCli(['clouds', '--label', `suite=${SUITE}`], QUEUE);
  expect(human.code).toBe(0);
  expect(human.stdout).toMatch(new RegExp(`${clouds.a}\\s+1\\s+applied\\s+-\\s+purpose=test,suite=${SUITE}`));
  expect(human.stdout).toContain('db v1, keystone v1');
  expect(human.stdout).toContain('4 cloud(s)');
});

test('clouds --service groups the clouds by the image they run, and follows a patch', async () => {
  const before = await cliJson(['clouds', '--service', 'keystone', '--label', `suite=${SUITE}`]);
  expect(before).toEqual({
    service: 'keystone',
    clouds: 4,
    images: [
      { image: FIXTURE.v1, version: 'v1', count: 2, clouds: [clouds.a, clouds.c].sort() },
      { image: FIXTURE.v2, version: 'v2', count: 1, clouds: [clouds.b] },
    ],
    without: { count: 1, clouds: [clouds.d] },
  });
  // Patch c: it moves to the v2 block; a alone still runs v1.
  expect((await runCli(['apply', writeRecord(records.c(FIXTURE.v2)), '-m', 'cve fix'], QUEUE)).code).toBe(0);
  const after = await cliJson(['clouds', '--service', 'keystone', '--label', `suite=${SUITE}`]);
  expect(after.images).toEqual([
    { image: FIXTURE.v1, version: 'v1', count: 1, clouds: [clouds.a] },
    { image: FIXTURE.v2, version: 'v2', count: 2, clouds: [clouds.b, clouds.c].sort() },
  ]);
  const human = await runCli(['clouds', '--service', 'keystone', '--label', `suite=${SUITE}`], QUEUE);
  expect(human.stdout).toContain('keystone across 4 managed cloud(s):');
  expect(human.stdout).toContain(`${FIXTURE.v1}  (1 cloud)\n    ${clouds.a}`);
  expect(human.stdout).toContain(`${FIXTURE.v2}  (2 clouds)`);
  expect(human.stdout).toContain(`(no keystone in the current revision)  (1 cloud)\n    ${clouds.d}`);
});

test('history pages newest first; show has the outcome and per-service, per-instance results', async () => {
  const first = await cliJson(['history', clouds.c, '--limit', '1']);
  expect(first).toMatchObject({ cloud: clouds.c, current: 2, last: 2, total: 2, nextBefore: 2 });
  expect(first.revisions.map((r: { number: number }) => r.number)).toEqual([2]);
  expect(first.revisions[0]).toMatchObject({ message: 'cve fix', outcome: 'applied', author: 'jest' });
  expect(first.revisions[0].record).toBeUndefined();
  const second = await cliJson(['history', clouds.c, '--limit', '1', '--before', '2']);
  expect(second.revisions.map((r: { number: number }) => r.number)).toEqual([1]);
  expect(second.nextBefore).toBeNull();
  const human = await runCli(['history', clouds.c, '--limit', '1'], QUEUE);
  expect(human.stdout).toContain(
    `1 of 2 revision(s) shown (2..2); older: patchbay history ${clouds.c} --before 2 --limit 1`,
  );

  const shown = await cliJson(['show', clouds.c, '2']);
  expect(shown).toMatchObject({ number: 2, outcome: 'applied', kind: 'apply', message: 'cve fix' });
  expect(shown.record.spec.services[0].image).toBe(FIXTURE.v2);
  expect(shown.services).toEqual([
    expect.objectContaining({
      service: 'keystone',
      action: 'patch',
      status: 'succeeded',
      fromVersion: 'v1',
      toVersion: 'v2',
      instances: [expect.objectContaining({ instance: 'local-19104', phase: 'done' })],
    }),
  ]);
  const text = await runCli(['show', clouds.c, '2'], QUEUE);
  expect(text.stdout).toContain('# keystone         patch     succeeded v1 -> v2');
  expect(text.stdout).toContain('image: patchbay/fixture:v2');
  const missing = await runCli(['show', clouds.c, '9'], QUEUE);
  expect(missing.code).toBe(2);
  expect(missing.stderr).toContain(`cloud ${clouds.c} has no revision 9 (it has 1..2)`);
});

test('the record store unreachable at apply or rollback: exit 1 naming the store, nothing sent or touched', async () => {
  const port = await closedPort();
  const down = { PATCHBAY_DATABASE_URL: `postgres://patchbay:s3cret@127.0.0.1:${port}/patchbay` };
  const before = await snapshot(clouds.a);
  const stateBefore = await client.state(clouds.a);

  const apply = await runCli(['apply', writeRecord(records.a(FIXTURE.v3))], QUEUE, down);
  expect(apply.code).toBe(1);
  expect(apply.stderr).toContain(
    `error [ENVIRONMENT]: cannot reach the record store at postgres://patchbay:***@127.0.0.1:${port}/patchbay`,
  );
  expect(apply.stderr).not.toContain('s3cret');
  const rollback = await runCli(['rollback', clouds.a, 'keystone', '--json'], QUEUE, down);
  expect(rollback.code).toBe(1);
  expect(JSON.parse(rollback.stdout).error).toMatchObject({ code: 'ENVIRONMENT' });
  expect(rollback.stderr).toContain('cannot reach the record store');

  // A cloud that does not exist yet is not created either.
  const fresh = cloudName('inv-new');
  const created = await runCli(
    ['apply', writeRecord(record(fresh, { db: FIXTURE.v1 }, [19106]))],
    QUEUE,
    down,
  );
  expect(created.code).toBe(1);
  expect(await client.state(fresh)).toBeNull();
  expect((await snapshot(fresh)).size).toBe(0);

  expect(await snapshot(clouds.a)).toEqual(before);
  expect(await client.state(clouds.a)).toEqual(stateBefore);
  expect((await cliJson(['history', clouds.a])).total).toBe(1);
  // Reads fail the same way.
  const history = await runCli(['history', clouds.a], QUEUE, down);
  expect(history.code).toBe(1);
  expect(history.stderr).toContain('cannot reach the record store');
});

test('a cloud whose history is still in its workflow (an older version) moves it to the store on first read', async () => {
  const cloud = cloudName('inv-old');
  const rec = CloudRecordSchema.parse(record(cloud, { db: FIXTURE.v1 }, [19107]));
  const at = new Date(Date.now() - 60_000).toISOString();
  const state: LegacyCloudState = {
    name: cloud,
    current: 2,
    active: null,
    revisions: [
      {
        number: 1,
        record: rec,
        author: 'old',
        message: 'first',
        createdAt: at,
        finishedAt: at,
        outcome: 'applied',
        services: [],
      },
      {
        number: 2,
        record: rec,
        author: 'old',
        message: 'second',
        createdAt: at,
        finishedAt: at,
        outcome: 'applied',
        services: [],
      },
    ],
  };
  await client.client.workflow.start(cloudWorkflow, {
    workflowId: cloudWorkflowId(cloud),
    taskQueue: QUEUE,
    args: [{ name: cloud, state }],
  });
  try {
    const history = await cliJson(['history', cloud]);
    expect(history).toMatchObject({ cloud, current: 2, total: 2 });
    expect(
      history.revisions.map((r: { number: number; message: string }) => `${r.number} ${r.message}`),
    ).toEqual(['2 second', '1 first']);
    const inv = await cliJson(['clouds', '--label', `suite=${SUITE}`]);
    expect(inv.clouds.find((c: { name: string }) => c.name === cloud)).toMatchObject({
      currentRevision: 2,
      services: [{ service: 'db', image: FIXTURE.v1, version: 'v1' }],
    });
  } finally {
    await client.client.workflow.getHandle(cloudWorkflowId(cloud)).terminate('test done');
  }
});
