// Schema migrations on real Docker, a real MariaDB and a real Temporal server (issue 17): a fixture
// service `app` whose schema lives in database `app` of the sample MariaDB (the image the OpenStack
// sample runs), migrated by jobs in that image with the real `mariadb` client. Expand runs before the
// first instance, contract after the whole revision; a failed expand touches nothing; a failed gate
// rolls the image back onto the expanded schema without contracting; after a contract a rollback
// is refused. Every phase's output is recorded with the job's secret masked.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { Client, Connection } from '@temporalio/client';
import { parse } from 'yaml';
import { OPENSTACK_EXAMPLE } from '../../src/lab/openstackLab';
import type { CloudRecordInput } from '../../src/record/schema';
import type { ServiceResult } from '../../src/workflows/types';
import { testEnv } from '../support/env';
import { FIXTURE } from '../support/fixtures';
import { historyText } from '../support/histories';
import {
  cloudName,
  docker,
  fixtureRecord,
  removeCloudContainers,
  runCli,
  servedVersions,
  snapshot,
  startWorker,
  waitFor,
  writeRecord,
  type WorkerProcess,
} from '../support/harness';

jest.setTimeout(240_000);

const QUEUE = 'migrations-it';
const cloud = cloudName('mig');
const DB_HEALTH = 17711;
const SQL = 17712;
const APP = [17721, 17722];
const ROOT_PW = `root-${randomBytes(8).toString('hex')}`;
const APP_PW = `mig-app-${randomBytes(8).toString('hex')}`;
const DB_CONTAINER = `pb-${cloud}-db-local-${DB_HEALTH}`;

/** The MariaDB image the OpenStack sample runs (built by bootstrap --openstack). */
const MARIADB_IMAGE = (
  parse(readFileSync(OPENSTACK_EXAMPLE, 'utf8')) as {
    spec: { services: Array<{ name: string; image: string }> };
  }
).spec.services.find((s) => s.name === 'mariadb')!.image;

/** A phase: SQL run by the mariadb client as the app's user, in the MariaDB image. */
const sqlJob = (statements: string, echoPassword = false) => ({
  image: MARIADB_IMAGE,
  command: [
    'sh',
    '-c',
    `${echoPassword ? 'echo "connected with password=$DB_PASSWORD"; ' : ''}mariadb -h127.0.0.1 -P${SQL} -uapp -p"$DB_PASSWORD" -N app -e "${statements}"`,
  ],
  secretEnv: { DB_PASSWORD: 'env:PATCHBAY_TEST_MIG_APP_PW' },
  timeout: '60s',
});
const CHECK = sqlJob("SELECT CONCAT('schema ', version) FROM schema_version", true);
/** Snapshots go to a directory of this run on the (only) host; the dump drops and recreates `app`. */
const SNAPSHOTS = `/tmp/pb/mig-snapshots-${process.pid}`;
const client = (...args: string[]) => ['mariadb', '-h127.0.0.1', `-P${SQL}`, '-uapp', ...args];
const SNAPSHOT = {
  command: [
    'mariadb-dump',
    '-h127.0.0.1',
    `-P${SQL}`,
    '-uapp',
    '--single-transaction',
    '--add-drop-database',
    '--databases',
    'app',
  ],
  secretEnv: { MYSQL_PWD: 'env:PATCHBAY_TEST_MIG_APP_PW' },
  directory: SNAPSHOTS,
  keep: 3,
  restore: { command: client() },
  // Exact counts: the tables are small (a big one would read information_schema's estimate instead).
  rows: {
    command: [
      'sh',
      '-c',
      `for t in $(${client('-N', '-e', "'SHOW TABLES'", 'app').join(' ')}); do echo "$t $(${client('-N', 'app', '-e').join(' ')} "SELECT COUNT(*) FROM $t")"; done`,
    ],
  },
};
const V1_SCHEMA = {
  database: { service: 'db', name: 'app' },
  check: CHECK,
  snapshot: SNAPSHOT,
  expand: sqlJob(
    "CREATE TABLE IF NOT EXISTS schema_version (version varchar(20)); CREATE TABLE IF NOT EXISTS items (id int primary key, name varchar(50)); DELETE FROM schema_version; INSERT INTO schema_version VALUES ('1')",
  ),
};
/** v2 renames items.name to items.label: expand adds and copies, contract drops the old column. */
const V2_SCHEMA = {
  database: { service: 'db', name: 'app' },
  check: CHECK,
  snapshot: SNAPSHOT,
  expand: sqlJob(
    "ALTER TABLE items ADD COLUMN IF NOT EXISTS label varchar(50); UPDATE items SET label = name WHERE label IS NULL; UPDATE schema_version SET version = '2-expanded'",
  ),
  contract: sqlJob("ALTER TABLE items DROP COLUMN IF EXISTS name; UPDATE schema_version SET version = '2'"),
};

function record(appImage: string, migrations: object, appTimeout = '15s'): CloudRecordInput {
  const r = fixtureRecord(cloud, {
    db: { image: MARIADB_IMAGE, ports: [DB_HEALTH], timeout: '90s' },
    app: { image: appImage, ports: APP, dependsOn: ['db'], timeout: appTimeout },
  });
  const [db, app] = r.spec.services as Array<Record<string, unknown>>;
  Object.assign(db!, {
    env: {
      MARIADB_PORT: String(SQL),
      MARIADB_HEALTH_PORT: '{{port}}',
      MARIADB_DATABASES: 'app:app:APP_DB_PASSWORD',
    },
    secretEnv: {
      MARIADB_ROOT_PASSWORD: 'env:PATCHBAY_TEST_MIG_ROOT_PW',
      APP_DB_PASSWORD: 'env:PATCHBAY_TEST_MIG_APP_PW',
    },
    health: { http: { path: '/' }, timeout: '90s', interval: '500ms' },
  });
  app!.migrations = migrations;
  return r;
}

/** A query as root inside the database's container (over its socket). */
const query = (sql: string): string =>
  execFileSync('docker', ['exec', DB_CONTAINER, 'mariadb', '-N', 'app', '-e', sql], {
    encoding: 'utf8',
  }).trim();

async function apply(r: CloudRecordInput) {
  const out = await runCli(['apply', writeRecord(r), '--json'], QUEUE);
  return {
    code: out.code,
    result: JSON.parse(out.stdout || '{}') as {
      outcome: string;
      revision: number;
      reason?: string;
      services?: ServiceResult[];
    },
    stderr: out.stderr,
  };
}

const appOf = (services: ServiceResult[] | undefined) => services?.find((s) => s.service === 'app');

/** A killed worker's workflows move on after 2 s instead of Temporal's 10 s (its sticky queue). */
const WORKER_ENV = {
  PATCHBAY_TEST_MIG_ROOT_PW: ROOT_PW,
  PATCHBAY_TEST_MIG_APP_PW: APP_PW,
  PATCHBAY_STICKY_TIMEOUT: '2s',
};
let worker: WorkerProcess;
/** The revision that contracted the schema (the last test reads its histories). */
let contracted = 0;
beforeAll(async () => {
  await removeCloudContainers(cloud);
  worker = await startWorker(QUEUE, WORKER_ENV);
});
afterAll(async () => {
  await worker?.stop();
  await removeCloudContainers(cloud);
  rmSync(SNAPSHOTS, { recursive: true, force: true });
});

test('a new service: its schema is made (check, expand) before its instances start', async () => {
  const { result } = await apply(record(FIXTURE.v1, V1_SCHEMA));
  expect(result.outcome).toBe('applied');
  // The rows the later revisions must keep.
  query("INSERT INTO items VALUES (1, 'alpha'), (2, 'beta')");
  const m = appOf(result.services)!.migrations!;
  expect(m.phases.map((p) => [p.stage, p.exitCode])).toEqual([
    ['check-before', 1], // no schema_version table yet: the check's answer, not a failure
    ['snapshot', 0],
    ['expand', 0],
  ]);
  // The dump is on the host, whole, and hashes to what the revision recorded.
  const dump = `${SNAPSHOTS}/${cloud}/app-r1.sql`;
  expect(m.snapshot).toMatchObject({ host: 'local', path: dump, bytes: statSync(dump).size, rows: {} });
  expect(createHash('sha256').update(readFileSync(dump)).digest('hex')).toBe(m.snapshot!.sha256);
  expect(readFileSync(dump, 'utf8')).toContain('DROP DATABASE IF EXISTS `app`');
  expect(m.phases[0]!.output).toMatch(
    /^connected with password=\*\*\*\n.*ERROR 1146 .*schema_version' doesn't exist$/s,
  );
  expect(m.contract).toBe('none');
  expect(query('SELECT version FROM schema_version')).toBe('1');
  expect(await servedVersions(APP)).toEqual(['v1', 'v1']);
});

test('a failed expand stops the revision with nothing touched, the database error in the reason', async () => {
  const before = await snapshot(cloud);
  const broken = { ...V2_SCHEMA, expand: sqlJob('ALTER TABLE nosuch ADD COLUMN label varchar(50)') };
  const { code, result } = await apply(record(FIXTURE.v2, broken));
  expect(code).toBe(1);
  expect(result.outcome).toBe('failed');
  expect(result.reason).toMatch(
    /migrate-expand .*exit code 1.*nosuch' doesn't exist.*before any instance was touched/s,
  );
  expect(await snapshot(cloud)).toEqual(before);
  expect(await servedVersions(APP)).toEqual(['v1', 'v1']);
  expect(query('SELECT version FROM schema_version')).toBe('1');
});

test('a failed snapshot stops the revision before expand, with nothing touched', async () => {
  const before = await snapshot(cloud);
  const denied = { ...V2_SCHEMA, snapshot: { ...SNAPSHOT, secretEnv: {} } }; // no password for the dump
  const { code, result } = await apply(record(FIXTURE.v2, denied));
  expect(code).toBe(1);
  expect(result.outcome).toBe('failed');
  expect(result.reason).toMatch(
    /migrate-snapshot .*Access denied for user 'app'.*before any instance was touched/s,
  );
  expect(appOf(result.services)!.migrations!.phases.map((p) => p.stage)).toEqual(['check-before']);
  expect(await snapshot(cloud)).toEqual(before);
  expect(query('SELECT version FROM schema_version')).toBe('1');
  // Neither a dump nor a partial one is left behind.
  expect(readdirSync(`${SNAPSHOTS}/${cloud}`).filter((f) => f.includes(`-r${result.revision}.`))).toEqual([]);
});

test('a failed gate after expand: the old image comes back and runs on the expanded schema; no contract, rows intact', async () => {
  const { code, result } = await apply(record(FIXTURE.broken, V2_SCHEMA, '3s'));
  expect(code).toBe(1);
  expect(result.outcome).toBe('rolled-back');
  const app = appOf(result.services)!;
  expect(app.migrations!.phases.map((p) => p.stage)).toEqual(['check-before', 'snapshot', 'expand']);
  expect(app.migrations!.contract).toBe('not-run');
  await waitFor('v1 on both', async () => (await servedVersions(APP)).every((v) => v === 'v1'), 20_000, 250);
  expect(query('SELECT version FROM schema_version')).toBe('2-expanded');
  expect(query('SELECT id, name, label FROM items ORDER BY id')).toBe('1\talpha\talpha\n2\tbeta\tbeta');
});

test('a patch contracts after every instance runs it; then a rollback is refused, naming the revision, and nothing moves', async () => {
  const { result } = await apply(record(FIXTURE.v2, V2_SCHEMA));
  expect(result.outcome).toBe('applied');
  contracted = result.revision;
  const m = appOf(result.services)!.migrations!;
  expect(m.phases.map((p) => [p.stage, p.exitCode])).toEqual([
    ['check-before', 0],
    ['snapshot', 0],
    ['expand', 0],
    ['contract', 0],
    ['check-after', 0],
  ]);
  expect(m.phases[0]!.output).toContain('schema 2-expanded');
  expect(m.phases[4]!.output).toContain('schema 2');
  // keep: 3 — revisions 1, 2 and 4 had snapshots (3's failed): revision 1's file went.
  expect(m.snapshot).toMatchObject({ rows: { items: 2, schema_version: 1 }, pruned: [1] });
  expect(existsSync(`${SNAPSHOTS}/${cloud}/app-r1.sql`)).toBe(false);
  expect(existsSync(m.snapshot!.path)).toBe(true);
  expect(m).toMatchObject({ contract: 'done', database: { service: 'db', name: 'app' } });
  expect(await servedVersions(APP)).toEqual(['v2', 'v2']);
  expect(query('SELECT id, label FROM items ORDER BY id')).toBe('1\talpha\n2\tbeta');
  expect(
    query(
      "SELECT COUNT(*) FROM information_schema.columns WHERE table_name = 'items' AND column_name = 'name'",
    ),
  ).toBe('0');

  const shown = await runCli(['show', cloud, String(result.revision)], QUEUE);
  expect(shown.stdout).toContain('migrations db/app: check-before exit 0');
  expect(shown.stdout).toContain('connected with password=***');

  const before = await snapshot(cloud);
  const refused = await runCli(['rollback', cloud, 'app', '--json'], QUEUE);
  expect(refused.code).toBe(2);
  expect(refused.stderr).toContain('SCHEMA_CONTRACTED');
  expect(refused.stderr).toContain(
    `cannot roll app back to revision 1: revision ${result.revision} contracted database db/app at ${m.contractedAt}`,
  );
  expect(refused.stderr).toContain('add --restore-database');
  expect(await snapshot(cloud)).toEqual(before);
});

test('rollback --restore-database: the database as it was before the contracting expand, the old image on it, the loss window reported; the database container untouched', async () => {
  query("INSERT INTO items (id, label) VALUES (3, 'gamma')"); // written after the snapshot: lost
  const dbBefore = (await snapshot(cloud)).get(DB_CONTAINER);
  expect(dbBefore).toBeDefined();
  const out = await runCli(['rollback', cloud, 'app', '--restore-database', '--json'], QUEUE);
  expect(out.code).toBe(0);
  const result = JSON.parse(out.stdout) as { outcome: string; revision: number; services: ServiceResult[] };
  expect(result.outcome).toBe('applied');
  const app = appOf(result.services)!;
  expect(app).toMatchObject({ status: 'succeeded', toVersion: 'v1' });
  expect(app.migrations).toBeUndefined(); // v1's expand did not run on the newer schema
  expect(app.restore).toMatchObject({
    database: { service: 'db', name: 'app' },
    snapshot: { revision: contracted, path: `${SNAPSHOTS}/${cloud}/app-r${contracted}.sql` },
    rows: [
      { table: 'items', atSnapshot: 2, beforeRestore: 3 },
      { table: 'schema_version', atSnapshot: 1, beforeRestore: 1 },
    ],
  });
  const window = app.restore!.lossWindow;
  expect(Date.parse(window.to)).toBeGreaterThan(Date.parse(window.from));
  expect(await servedVersions(APP)).toEqual(['v1', 'v1']);
  expect(query('SELECT version FROM schema_version')).toBe('2-expanded');
  expect(query('SELECT id, name, label FROM items ORDER BY id')).toBe('1\talpha\talpha\n2\tbeta\tbeta');
  expect((await snapshot(cloud)).get(DB_CONTAINER)).toEqual(dbBefore);
  const shown = await runCli(['show', cloud, String(result.revision)], QUEUE);
  expect(shown.stdout).toContain(`restored from the snapshot of revision ${contracted}`);
  expect(shown.stdout).toContain(`loss window: writes from ${window.from} to ${window.to} are gone`);
  expect(shown.stdout).toContain('items: 2 rows at the snapshot, 3 before the restore (+1)');

  // The restore undid that contract: restoring again is refused as needless, and a plain rollback
  // to the first revision no longer counts it (the schema is the one from before it).
  const needless = await runCli(['rollback', cloud, 'app', '--restore-database', '--json'], QUEUE);
  expect(needless.code).toBe(2);
  expect(needless.stderr).toContain('INVALID_INPUT');
  expect(needless.stderr).toContain('--restore-database is not needed');
  const toFirst = await runCli(['rollback', cloud, 'app', '--to-revision', '1', '--json'], QUEUE);
  expect(toFirst.code).toBe(0);
  expect(JSON.parse(toFirst.stdout)).toMatchObject({ outcome: 'applied' });
  expect(await servedVersions(APP)).toEqual(['v1', 'v1']);
});

test("the app's database password is in no history: the outputs hold *** in its place", async () => {
  const connection = await Connection.connect({ address: testEnv('address') });
  try {
    const client = new Client({ connection });
    expect(contracted).toBeGreaterThan(1);
    const ids = [
      `cloud:${cloud}:r1:app`,
      `cloud:${cloud}:r${contracted}:app`,
      `cloud:${cloud}:r${contracted}:app:contract`,
    ];
    for (const id of ids) {
      const history = historyText(await client.workflow.getHandle(id).fetchHistory());
      expect(history).toContain('password=***');
      expect(history).not.toContain(APP_PW);
    }
  } finally {
    await connection.close();
  }
});

test('a worker killed during each phase (snapshot, expand, migrate, contract): a new one resumes it; no phase runs twice, no job container is left', async () => {
  query('CREATE TABLE phase_runs (phase varchar(20), at datetime(3) DEFAULT NOW(3))');
  // Each phase takes 3 s and leaves a row: not idempotent on purpose, so a second run would show.
  const logged = (phase: string) => `DO SLEEP(3); INSERT INTO phase_runs (phase) VALUES ('${phase}')`;
  const dumpCommand = SNAPSHOT.command.join(' ');
  const durable = {
    database: { service: 'db', name: 'app' },
    snapshot: {
      ...SNAPSHOT,
      command: [
        'sh',
        '-c',
        `${client('app', '-e', `"${logged('snapshot')}"`).join(' ')} >&2 && exec ${dumpCommand}`,
      ],
    },
    expand: sqlJob(logged('expand')),
    migrate: sqlJob(logged('migrate')),
    contract: sqlJob(logged('contract')),
  };
  const r = record(FIXTURE.v2, durable);
  const accepted = runCli(['apply', writeRecord(r), '--json'], QUEUE);
  const phases = ['snapshot', 'expand', 'migrate', 'contract'];
  let revision = 0;
  for (const phase of phases) {
    const running = await waitFor(
      `the ${phase} job running`,
      async () => {
        const containers = await docker.listContainers({
          filters: { name: [`pb-${cloud}-app-job-migrate-${phase}-r`], status: ['running'] },
        });
        return containers[0];
      },
      60_000,
      100,
    );
    revision = Number(/-r(\d+)$/.exec(running.Names[0]!)![1]);
    // The phase's activity runs on the worker killed; the next one is up already (its start-up is not
    // what this tests), so the phase resumes as soon as the heartbeat timeout notices the death.
    const next = await startWorker(QUEUE, WORKER_ENV);
    await worker.kill();
    worker = next;
  }
  const out = await accepted;
  const result = JSON.parse(out.stdout) as { outcome: string; revision: number; services: ServiceResult[] };
  expect(result).toMatchObject({ outcome: 'applied', revision });
  const m = appOf(result.services)!.migrations!;
  expect(m.phases.map((p) => [p.stage, p.exitCode])).toEqual(phases.map((p) => [p, 0]));
  expect(m.contract).toBe('done');
  expect(query('SELECT phase, COUNT(*) FROM phase_runs GROUP BY phase ORDER BY MIN(at)')).toBe(
    phases.map((p) => `${p}\t1`).join('\n'),
  );
  expect(await docker.listContainers({ all: true, filters: { name: [`pb-${cloud}-app-job-`] } })).toEqual([]);
  expect(await servedVersions(APP)).toEqual(['v2', 'v2']);
});

test('a failed contract waits for an operator with every instance on the new code; retry after the fix contracts and applies', async () => {
  // Fails until the operator has made `contract_allowed` (the stand-in for whatever blocked it).
  const blocked = {
    database: { service: 'db', name: 'app' },
    check: CHECK,
    expand: sqlJob("UPDATE schema_version SET version = '3-expanded'"),
    contract: sqlJob("SELECT COUNT(*) FROM contract_allowed; UPDATE schema_version SET version = '3'"),
  };
  const applying = runCli(['apply', writeRecord(record(FIXTURE.v3, blocked)), '--json'], QUEUE);
  const waiting = await waitFor(
    'the contract to wait for an operator',
    async () => {
      const s = await runCli(['status', cloud, '--json'], QUEUE);
      return s.code === 0 ? (JSON.parse(s.stdout).waitingForOperator ?? undefined) : undefined;
    },
    90_000,
    500,
  );
  expect(waiting).toMatchObject({ service: 'app', kind: 'contract-failed', allowed: ['retry', 'abandon'] });
  expect(waiting.reason).toMatch(/contract_allowed' doesn't exist/);
  // Nothing was rolled back: both instances serve v3 on the expanded schema while it waits.
  expect(await servedVersions(APP)).toEqual(['v3', 'v3']);
  expect(query('SELECT version FROM schema_version')).toBe('3-expanded');
  query('CREATE TABLE contract_allowed (x int)');
  expect((await runCli(['resolve', cloud, 'retry', '-m', 'made contract_allowed'], QUEUE)).code).toBe(0);
  const result = JSON.parse((await applying).stdout) as {
    outcome: string;
    revision: number;
    services: ServiceResult[];
  };
  expect(result.outcome).toBe('applied');
  expect(appOf(result.services)!.migrations).toMatchObject({ contract: 'done' });
  expect(query('SELECT version FROM schema_version')).toBe('3');

  // That revision's migrations took no snapshot: going back across its contract has nothing to restore.
  const before = await snapshot(cloud);
  const missing = await runCli(['rollback', cloud, 'app', '--restore-database', '--json'], QUEUE);
  expect(missing.code).toBe(2);
  expect(missing.stderr).toContain('SNAPSHOT_MISSING');
  expect(missing.stderr).toContain(`revision ${result.revision} took no snapshot before its expand`);
  expect(await snapshot(cloud)).toEqual(before);
});
