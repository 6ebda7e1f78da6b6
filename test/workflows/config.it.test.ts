// Versioned configuration on real Docker and a real Temporal server: config files from the record are
// rendered per instance, delivered into each container, rolled out and rolled back like images, and
// their secrets resolved only by the worker (never in a history or the store).
import { Client, Connection } from '@temporalio/client';
import { Client as PgClient } from 'pg';
import type { CloudRecordInput } from '../../src/record/schema';
import {
  cloudName,
  docker,
  fixtureRecord,
  removeCloudContainers,
  runCli,
  snapshot,
  startWorker,
  writeRecord,
  type ContainerSnapshot,
  type WorkerProcess,
} from '../support/harness';
import { FIXTURE } from '../support/fixtures';
import { testEnv } from '../support/env';
import { historyText } from '../support/histories';
import { testStoreUrl } from '../support/store';

jest.setTimeout(240_000);

const QUEUE = 'config-it';
const SECRET = 'cfg-s3cret-never-recorded-91c2';
const CONF = '/etc/fixture/fixture.conf';
const OTHER = 17641;
const API = [17642, 17643, 17644];
const BATCH = 17645;

let worker: WorkerProcess;
const cloud = cloudName('config');

beforeAll(async () => {
  worker = await startWorker(QUEUE, { PATCHBAY_TEST_CONFIG_SECRET: SECRET });
});
afterAll(async () => {
  await worker?.stop();
  await removeCloudContainers(cloud);
});

/** The cloud with `api`'s fixture.conf saying `greeting` (and `extra` lines). */
function record(greeting: string, extra = ''): CloudRecordInput {
  const r = fixtureRecord(cloud, {
    other: { image: FIXTURE.v1, ports: [OTHER] },
    api: { image: FIXTURE.v1, ports: API, timeout: '4s' },
    batch: { image: FIXTURE.v1, ports: [BATCH] },
  });
  const [, api, batch] = r.spec.services as Array<Record<string, unknown>>;
  api!.config = {
    [CONF]: {
      content: `GREETING=${greeting}\nWHERE={{instance}}:{{port}}\nPASSWORD={{ secret "env:PATCHBAY_TEST_CONFIG_SECRET" }}\n${extra}`,
      mode: '0640',
    },
  };
  // A service with a job: the job reads the same files (so they may use only {{service}}).
  batch!.config = { [CONF]: { content: 'NAME={{service}}\n' } };
  batch!.jobs = { before: [{ name: 'check', command: ['job', `grep -q NAME=batch ${CONF}`] }] };
  return r;
}

/** What each port serves as its config file (the fixture serves /etc/fixture at /config/). */
async function served(ports: number[]): Promise<string[]> {
  return Promise.all(
    ports.map(async (port) => {
      const response = await fetch(`http://127.0.0.1:${port}/config/fixture.conf`);
      return response.ok ? response.text() : `HTTP ${response.status}`;
    }),
  );
}

const greetings = async (ports: number[]) =>
  (await served(ports)).map((text) => /GREETING=(.*)/.exec(text)?.[1] ?? text);

function untouched(
  before: Map<string, ContainerSnapshot>,
  after: Map<string, ContainerSnapshot>,
  service: string,
) {
  const mine = [...before.values()].filter((c) => c.service === service);
  expect(mine.length).toBeGreaterThan(0);
  for (const c of mine) expect(after.get(c.name)).toMatchObject({ id: c.id, startedAt: c.startedAt });
}

test('config files are rendered per instance, with secrets resolved in the container only', async () => {
  const out = await runCli(['apply', writeRecord(record('hello')), '--json'], QUEUE);
  expect(out.code).toBe(0);
  const files = await served(API);
  API.forEach((port, i) => {
    expect(files[i]).toBe(`GREETING=hello\nWHERE=local-${port}:${port}\nPASSWORD=${SECRET}\n`);
  });
  // Mode and owner as the record says.
  const [api] = [...(await snapshot(cloud)).values()].filter((c) => c.service === 'api');
  const exec = await docker.getContainer(api!.id).exec({
    Cmd: ['/bin/busybox', 'stat', '-c', '%a %u:%g', CONF],
    AttachStdout: true,
  });
  const stream = await exec.start({});
  const text = await new Promise<string>((resolve) => {
    let s = '';
    stream.on('data', (d: Buffer) => (s += d.toString('utf8')));
    stream.on('end', () => resolve(s));
  });
  expect(text).toContain('640 0:0');
});

test('plan shows a unified diff of the changed file, with the secret as its reference', async () => {
  const plan = await runCli(['plan', writeRecord(record('bonjour'))], QUEUE);
  expect(plan.code).toBe(0);
  expect(plan.stdout).toContain(`config   ${CONF} changed`);
  expect(plan.stdout).toContain('-GREETING=hello');
  expect(plan.stdout).toContain('+GREETING=bonjour');
  expect(plan.stdout).toContain('{{ secret "env:PATCHBAY_TEST_CONFIG_SECRET" }}');
  expect(plan.stdout).toMatch(/replace\s+local-17642\s+v1, config changed: \/etc\/fixture\/fixture.conf/);
  expect(plan.stdout).not.toContain(SECRET);
  expect(plan.stdout).not.toMatch(/(other|batch)\s.*\n\s+replace/);
});

test('a config-only change replaces only that service, in batches; every other container is untouched', async () => {
  const before = await snapshot(cloud);
  const out = await runCli(['apply', writeRecord(record('bonjour')), '--json'], QUEUE);
  expect(out.code).toBe(0);
  expect(JSON.parse(out.stdout)).toMatchObject({ outcome: 'applied' });
  expect(await greetings(API)).toEqual(['bonjour', 'bonjour', 'bonjour']);
  const after = await snapshot(cloud);
  untouched(before, after, 'other');
  untouched(before, after, 'batch');
  for (const c of [...before.values()].filter((x) => x.service === 'api'))
    expect(after.get(c.name)?.id).not.toBe(c.id);
  // One instance at a time (maxUnavailable 1): each new container started after the previous one.
  const starts = [...after.values()]
    .filter((c) => c.service === 'api')
    .map((c) => Date.parse(c.startedAt))
    .sort();
  expect(new Set(starts).size).toBe(3);
});

test('a bad config fails its gate and is rolled back to the old files automatically', async () => {
  const before = await snapshot(cloud);
  const out = await runCli(['apply', writeRecord(record('broken', 'HEALTH=off\n')), '--json'], QUEUE);
  expect(out.code).toBe(1);
  const result = JSON.parse(out.stdout);
  expect(result.outcome).toBe('rolled-back');
  expect(result.reason).toContain('failed its health gate');
  expect(await greetings(API)).toEqual(['bonjour', 'bonjour', 'bonjour']);
  // The very containers that ran before are back (kept, not recreated).
  const after = await snapshot(cloud);
  for (const [name, c] of before) expect(after.get(name)?.id).toBe(c.id);
});

test('rollback of a config change restores the earlier files', async () => {
  const out = await runCli(['rollback', cloud, 'api', '--json'], QUEUE);
  expect(out.code).toBe(0);
  expect(JSON.parse(out.stdout)).toMatchObject({ outcome: 'applied' });
  expect(await greetings(API)).toEqual(['hello', 'hello', 'hello']);
});

test('status shows drift when a file is edited by hand in a container', async () => {
  const clean = JSON.parse((await runCli(['status', cloud, '--json'], QUEUE)).stdout);
  const apiStatus = (s: { services: Array<{ service: string; drift: string[] }> }) =>
    s.services.find((x) => x.service === 'api')!;
  expect(apiStatus(clean).drift).toEqual([]);
  const target = [...(await snapshot(cloud)).values()].find((c) => c.name.endsWith(`-${API[1]}`))!;
  const exec = await docker.getContainer(target.id).exec({
    Cmd: ['/bin/busybox', 'sh', '-c', `echo EDITED=by-hand >> ${CONF}`],
  });
  await exec.start({});
  await new Promise((r) => setTimeout(r, 300));
  const status = await runCli(['status', cloud, '--json'], QUEUE);
  expect(apiStatus(JSON.parse(status.stdout)).drift).toEqual([
    `local-${API[1]}: config file ${CONF} changed since it started`,
  ]);
  const human = await runCli(['status', cloud], QUEUE);
  expect(human.stdout).toContain(`config file ${CONF} changed since it started`);
  expect(human.stdout).not.toContain(SECRET);
});

test('the secret is in no history and in no row of the store', async () => {
  const connection = await Connection.connect({ address: testEnv('address') });
  try {
    const client = new Client({ connection });
    for (const id of [
      `cloud:${cloud}`,
      `cloud:${cloud}:r2`,
      `cloud:${cloud}:r2:api`,
      `cloud:${cloud}:r4:api`,
    ]) {
      const history = historyText(await client.workflow.getHandle(id).fetchHistory());
      expect(history.length).toBeGreaterThan(1000);
      expect(history).toContain('env:PATCHBAY_TEST_CONFIG_SECRET');
      expect(history).not.toContain(SECRET);
    }
  } finally {
    await connection.close();
  }
  const pg = new PgClient({ connectionString: testStoreUrl() });
  await pg.connect();
  try {
    const tables = await pg.query<{ t: string }>(
      `SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) AS t FROM information_schema.tables
        WHERE table_schema NOT IN ('pg_catalog', 'information_schema') AND table_type = 'BASE TABLE'`,
    );
    let rows = 0;
    let withReference = 0;
    for (const { t } of tables.rows) {
      const all = await pg.query<{ row: string }>(`SELECT x::text AS row FROM ${t} x`);
      rows += all.rowCount ?? 0;
      for (const { row } of all.rows) {
        expect(row).not.toContain(SECRET);
        if (row.includes('PATCHBAY_TEST_CONFIG_SECRET')) withReference++;
      }
    }
    expect(rows).toBeGreaterThan(0);
    expect(withReference).toBeGreaterThan(0); // the revisions hold the reference
  } finally {
    await pg.end();
  }
});
