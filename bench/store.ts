// npm run bench:store — what the record store costs, beside baselines measured in the same run:
//   1. writes per change: a revision accepted + finished (50 KB record) vs one plain INSERT of the
//      same record into a scratch table and vs a `SELECT 1` round trip;
//   2. reads at 5,000 revisions: `history` (one page), `show`, the rollback source, the cloud row —
//      vs the same reads at 10 revisions (a ratio near 1 means they do not grow with history);
//   3. end to end: back-to-back changes of a fixture cloud on the real stack, and the part of each
//      change spent in store activities (from the workflow histories).
// Options: --revisions N (default 5000), --changes N (default 50).
import { performance } from 'node:perf_hooks';
import path from 'node:path';
import { rmSync } from 'node:fs';
import { STATE_DIR } from '../src/lib/config';
import { CloudRecordSchema, type CloudRecord } from '../src/record/schema';
import { openDb, type Db } from '../src/store/db';
import { startFreshPostgres } from '../src/store/embeddedPostgres';
import { migrateStore } from '../src/store/migrate';
import { RevisionStore } from '../src/store/revisionStore';
import { applyUpdate } from '../src/workflows/messages';
import type { ChangeResult } from '../src/workflows/types';
import { fixtureRecord } from '../test/support/harness';
import { startBenchStack } from './stack';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const REVISIONS = arg('revisions', 5_000);
const CHANGES = arg('changes', 50);

function bigRecord(cloud: string, image: string): CloudRecord {
  const input = fixtureRecord(cloud, { api: { image, ports: [18981] } });
  const env: Record<string, string> = {};
  for (let i = 0; JSON.stringify(env).length < 50 * 1024; i++)
    env[`SETTING_${i}`] = `option-${i}: ${'x'.repeat(40)}`;
  input.spec.services[0]!.env = env;
  return CloudRecordSchema.parse(input);
}

async function median(times: number, fn: () => Promise<unknown>): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < times; i++) {
    const t = performance.now();
    await fn();
    samples.push(performance.now() - t);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)]!;
}

const ms = (n: number) => `${n.toFixed(2)} ms`;

async function writeRevisions(
  store: RevisionStore,
  cloud: string,
  record: CloudRecord,
  from: number,
  to: number,
) {
  for (let n = from; n <= to; n++) {
    await store.accepted({
      cloud,
      number: n,
      kind: 'apply',
      record,
      author: 'bench',
      message: `revision ${n}`,
      workflowId: `cloud:${cloud}:r${n}`,
      createdAt: new Date().toISOString(),
    });
    await store.finished({
      cloud,
      number: n,
      outcome: 'applied',
      services: [],
      finishedAt: new Date().toISOString(),
    });
  }
}

async function storeOnly(): Promise<void> {
  const dir = path.join(STATE_DIR, 'bench', 'postgres-store');
  const postgres = await startFreshPostgres({ dataDir: dir, port: 19832 });
  await migrateStore(postgres.url);
  const db: Db = openDb(postgres.url);
  const store = new RevisionStore(db);
  try {
    const record = bigRecord('bench', 'patchbay/fixture:v1');
    await db.query('CREATE TABLE scratch (id serial PRIMARY KEY, record jsonb)');
    const select1 = await median(200, () => db.query('SELECT 1'));
    const plainInsert = await median(200, () =>
      db.query('INSERT INTO scratch (record) VALUES ($1)', [JSON.stringify(record)]),
    );
    let n = 0;
    const perChange = await median(200, async () => {
      n++;
      await writeRevisions(store, 'writes', record, n, n);
    });
    console.log(`1. store writes per change (50 KB record, ${JSON.stringify(record).length} bytes):`);
    console.log(
      `   accepted + finished: ${ms(perChange)}   plain INSERT of the record: ${ms(plainInsert)} (x${(perChange / plainInsert).toFixed(1)})   SELECT 1: ${ms(select1)}`,
    );

    const reads = async (cloud: string) => ({
      history: await median(50, () => store.history(cloud, { limit: 50 })),
      count: await median(50, () => store.count(cloud)),
      show: await median(50, () => store.revision(cloud, 3)),
      current: await median(50, () => store.current(cloud)),
      rollback: await median(50, () =>
        store.rollbackSource(cloud, 'api', {
          current: 3,
          currentSpec: record.spec.services[0]!,
          toRevision: 2,
        }),
      ),
    });
    await writeRevisions(store, 'small', record, 1, 10);
    const t = performance.now();
    await writeRevisions(store, 'years', record, 1, REVISIONS);
    const fill = performance.now() - t;
    const small = await reads('small');
    const big = await reads('years');
    console.log(`2. reads at ${REVISIONS} revisions (filled in ${(fill / 1000).toFixed(1)} s) vs at 10:`);
    for (const key of Object.keys(big) as Array<keyof typeof big>)
      console.log(
        `   ${key.padEnd(8)} ${ms(big[key]).padStart(10)}  vs ${ms(small[key]).padStart(10)}  (x${(big[key] / small[key]).toFixed(2)})`,
      );
    const size = await db.query<{ size: string }>(
      "SELECT pg_size_pretty(pg_total_relation_size('revisions')) AS size",
    );
    console.log(`   revisions table: ${size[0]?.size} for ${REVISIONS + 10 + n} revisions`);
  } finally {
    await db.close();
    await postgres.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function endToEnd(): Promise<void> {
  // The worker's own store activities, timed where they run (they are local activities: no events).
  let storeMs = 0;
  let db: Db | undefined;
  const timed =
    <A extends unknown[]>(fn: (store: RevisionStore, ...args: A) => Promise<void>) =>
    async (...args: A): Promise<void> => {
      db ??= openDb(process.env.PATCHBAY_DATABASE_URL as string);
      const t = performance.now();
      await fn(new RevisionStore(db), ...args);
      storeMs += performance.now() - t;
    };
  const stack = await startBenchStack(17990, 'bench-store', {
    storeRevisionAccepted: timed((store, r: Parameters<RevisionStore['accepted']>[0]) => store.accepted(r)),
    storeRevisionFinished: timed((store, f: Parameters<RevisionStore['finished']>[0]) => store.finished(f)),
  });
  const { client } = stack;
  try {
    const cloud = `store-bench-${Date.now() % 100_000}`;
    const record = CloudRecordSchema.parse(
      fixtureRecord(cloud, { api: { image: 'patchbay/fixture:v1', ports: [18982] } }),
    );
    let accepted = await client.apply(record, { message: 'deploy', author: 'bench' });
    await client.client.workflow.getHandle(accepted.workflowId).result();
    const handle = client.client.workflow.getHandle(`cloud:${cloud}`);
    storeMs = 0;
    const t = performance.now();
    for (let i = 0; i < CHANGES; i++) {
      accepted = await handle.executeUpdate(applyUpdate, {
        args: [{ record, message: `change ${i}`, author: 'bench' }],
      });
      const result = (await client.client.workflow.getHandle(accepted.workflowId).result()) as ChangeResult;
      if (result.outcome !== 'applied') throw new Error(`change ${i}: ${result.outcome}`);
    }
    const perChange = (performance.now() - t) / CHANGES;
    const perChangeStore = storeMs / CHANGES;
    console.log(`3. end to end, ${CHANGES} back-to-back changes of a one-instance fixture cloud:`);
    console.log(
      `   a change: ${ms(perChange)}   of which record-store writes: ${ms(perChangeStore)} (${((perChangeStore / perChange) * 100).toFixed(1)}%)`,
    );
  } finally {
    await stack.stop();
    await db?.close();
  }
}

async function main(): Promise<void> {
  await storeOnly();
  await endToEnd();
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
