// The record store's migrations against the real PostgreSQL of the test run: each test on a throwaway
// database of its own, so "from empty" really is empty.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { Client } from 'pg';
import { PROJECT_ROOT } from '../../src/lib/config';
import { PatchbayError } from '../../src/lib/errors';
import { migrateStore, migrationNames, storeSchemaStatus } from '../../src/store/migrate';
import { freePort } from '../support/freePort';
import { testStoreUrl } from '../support/store';

jest.setTimeout(60_000);

const ALL = [
  '1733400000001_record-store',
  '1733400000002_read-views',
  '1733400000003_unreachable-hosts',
  '1733400000004_snapshots',
];
const LATEST = ALL.at(-1);
const TABLES = [
  'audit_log',
  'campaign_clouds',
  'campaigns',
  'clouds',
  'revision_services',
  'revisions',
  'snapshots',
];
const VIEWS = ['patchbay_campaign_outcomes', 'patchbay_inventory', 'patchbay_revisions'];
const LOCK_KEY = '7241865325823964'; // node-pg-migrate's, which migrateStore waits for

const databases: string[] = [];
const clients: Client[] = [];

/** A new empty database on the test server (the patchbay role may create databases). */
async function throwawayDatabase(): Promise<string> {
  const name = `migrate_${process.pid}_${databases.length}_${Date.now() % 100_000}`;
  await withClient(testStoreUrl(), (c) => c.query(`CREATE DATABASE ${name}`));
  databases.push(name);
  const url = new URL(testStoreUrl());
  url.pathname = `/${name}`;
  return url.toString();
}

async function connect(url: string): Promise<Client> {
  const client = new Client({ connectionString: url });
  await client.connect();
  clients.push(client);
  return client;
}

async function withClient<T>(url: string, fn: (c: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

async function relations(url: string, type: 'BASE TABLE' | 'VIEW'): Promise<string[]> {
  return withClient(url, async (c) => {
    const { rows } = await c.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables
        WHERE table_schema = 'public' AND table_type = $1 AND table_name <> 'patchbay_migrations'
        ORDER BY table_name`,
      [type],
    );
    return rows.map((r) => r.table_name);
  });
}

/** How often each migration is recorded: exactly once each, or the lock let two runs through. */
async function recordedCounts(url: string): Promise<Record<string, number>> {
  return withClient(url, async (c) => {
    const { rows } = await c.query<{ name: string; n: number }>(
      'SELECT name, count(*)::int AS n FROM patchbay_migrations GROUP BY name ORDER BY name',
    );
    return Object.fromEntries(rows.map((r) => [r.name, r.n]));
  });
}

/** Holds the migration lock in a session of its own until release() (to make runs overlap for sure). */
async function holdMigrationLock(
  url: string,
): Promise<{ waiting(): Promise<number>; release(): Promise<void> }> {
  const holder = await connect(url);
  await holder.query('SELECT pg_advisory_lock($1)', [LOCK_KEY]);
  const database = new URL(url).pathname.slice(1);
  return {
    async waiting() {
      const { rows } = await holder.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_locks l JOIN pg_database d ON d.oid = l.database
          WHERE l.locktype = 'advisory' AND NOT l.granted AND d.datname = $1`,
        [database],
      );
      return rows[0]!.n;
    },
    async release() {
      await holder.query('SELECT pg_advisory_unlock($1)', [LOCK_KEY]);
    },
  };
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

afterAll(async () => {
  for (const c of clients) await c.end().catch(() => undefined);
  await withClient(testStoreUrl(), async (c) => {
    for (const name of databases) await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  });
});

test('the migration files are the ones these tests know', () => {
  expect(migrationNames()).toEqual(ALL);
});

test('from an empty database to the latest version: tables and views', async () => {
  const url = await throwawayDatabase();
  expect(await storeSchemaStatus(url)).toEqual({ applied: [], pending: ALL });

  expect(await migrateStore(url)).toEqual({ applied: ALL, version: LATEST });

  expect(await relations(url, 'BASE TABLE')).toEqual(TABLES);
  expect(await relations(url, 'VIEW')).toEqual(VIEWS);
  expect(await storeSchemaStatus(url)).toEqual({ applied: ALL, pending: [] });
  // Again: nothing to do.
  expect(await migrateStore(url)).toEqual({ applied: [], version: LATEST });
});

test('data written by version 1 survives the upgrade and shows through the views', async () => {
  const url = await throwawayDatabase();
  expect(await migrateStore(url, { count: 1 })).toEqual({ applied: [ALL[0]], version: ALL[0] });
  expect(await relations(url, 'VIEW')).toEqual([]);
  expect(await storeSchemaStatus(url)).toEqual({ applied: [ALL[0]], pending: ALL.slice(1) });

  const record = { apiVersion: 'patchbay/v1', kind: 'Cloud', metadata: { name: 'old' } };
  const v1 = await connect(url);
  await v1.query(
    `INSERT INTO clouds (name, labels, current_revision, last_revision, last_outcome)
     VALUES ('old', '{"region":"east"}', 1, 1, 'applied')`,
  );
  await v1.query(
    `INSERT INTO revisions (cloud, number, kind, record, author, message, workflow_id, created_at, finished_at, outcome)
     VALUES ('old', 1, 'apply', $1, 'alice', 'first', 'cloud-old', '2026-12-01T10:00:00Z', '2026-12-01T10:01:00Z', 'applied')`,
    [JSON.stringify(record)],
  );
  await v1.query(
    `INSERT INTO revision_services (cloud, number, service, image, spec_hash)
     VALUES ('old', 1, 'api', 'patchbay/api:1', 'abc')`,
  );

  expect(await migrateStore(url)).toEqual({ applied: ALL.slice(1), version: LATEST });

  const { rows: revisions } = await v1.query(
    'SELECT cloud, number, record, author, unreachable_hosts FROM revisions',
  );
  // Version 3's column: none for every revision written before it.
  expect(revisions).toEqual([{ cloud: 'old', number: 1, record, author: 'alice', unreachable_hosts: null }]);
  const { rows: viewed } = await v1.query(
    'SELECT cloud, number, kind, author, message, outcome, workflow_id FROM patchbay_revisions',
  );
  expect(viewed).toEqual([
    {
      cloud: 'old',
      number: 1,
      kind: 'apply',
      author: 'alice',
      message: 'first',
      outcome: 'applied',
      workflow_id: 'cloud-old',
    },
  ]);
  const { rows: inventory } = await v1.query(
    'SELECT cloud, labels, current_revision, service, image FROM patchbay_inventory',
  );
  expect(inventory).toEqual([
    {
      cloud: 'old',
      labels: { region: 'east' },
      current_revision: 1,
      service: 'api',
      image: 'patchbay/api:1',
    },
  ]);
});

test('two migrations at once (separate connections) wait for each other: each migration applied once', async () => {
  const url = await throwawayDatabase();
  // Both start while the lock is held, so they certainly overlap; node-pg-migrate alone would fail
  // one of them ("Another migration is already running").
  const lock = await holdMigrationLock(url);
  const both = Promise.all([migrateStore(url), migrateStore(url)]);
  await until('both migrations to wait for the lock', async () => (await lock.waiting()) === 2);
  await lock.release();

  const [a, b] = await both;
  expect([...a.applied, ...b.applied].sort()).toEqual(ALL);
  expect(a.version).toBe(LATEST);
  expect(b.version).toBe(LATEST);
  expect(await recordedCounts(url)).toEqual(Object.fromEntries(ALL.map((m) => [m, 1])));
  expect(await storeSchemaStatus(url)).toEqual({ applied: ALL, pending: [] });
});

test('two processes starting at once both succeed', async () => {
  const url = await throwawayDatabase();
  const lock = await holdMigrationLock(url);
  const script = `require('tsx/cjs');
    require(${JSON.stringify(path.join(PROJECT_ROOT, 'src/store/migrate.ts'))})
      .migrateStore(process.env.STORE_URL)
      .then((r) => console.log(JSON.stringify(r)), (e) => { console.error(e.message); process.exit(1); });`;
  const runs = [0, 1].map(
    () =>
      new Promise<{ code: number | null; out: string }>((resolve) => {
        const child = spawn(process.execPath, ['-e', script], {
          cwd: PROJECT_ROOT,
          env: { ...process.env, STORE_URL: url },
        });
        let out = '';
        child.stdout.on('data', (d) => (out += d));
        child.stderr.on('data', (d) => (out += d));
        child.once('close', (code) => resolve({ code, out }));
      }),
  );
  await until('both processes to wait for the lock', async () => (await lock.waiting()) === 2);
  await lock.release();

  const results = await Promise.all(runs);
  for (const r of results) expect(r).toMatchObject({ code: 0 });
  const applied = results.flatMap((r) => (JSON.parse(r.out) as { applied: string[] }).applied);
  expect(applied.sort()).toEqual(ALL);
  expect(await recordedCounts(url)).toEqual(Object.fromEntries(ALL.map((m) => [m, 1])));
});

test('an unreachable store: an ENVIRONMENT error that names it, without its password', async () => {
  const url = `postgres://patchbay:s3cret@127.0.0.1:${await freePort()}/patchbay`;
  const error = await migrateStore(url).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(PatchbayError);
  expect(error).toMatchObject({ code: 'ENVIRONMENT' });
  expect((error as Error).message).toContain('postgres://patchbay:***@127.0.0.1');
  expect((error as Error).message).not.toContain('s3cret');
});
