// Bad input gets a clear error and changes nothing: every case runs against a deployed cloud and
// checks that no container was touched (same ids, same start times).
import { writeFileSync } from 'node:fs';
import {
  cloudName,
  fixtureRecord,
  removeCloudContainers,
  runCli,
  snapshot,
  startWorker,
  waitFor,
  writeRecord,
  type WorkerProcess,
} from '../support/harness';
import { FIXTURE } from '../support/fixtures';

jest.setTimeout(180_000);

const QUEUE = 'bad-input-it';
const cloud = cloudName('bad');
let worker: WorkerProcess;
const record = (apiImage: string, extra: Record<string, unknown> = {}) =>
  fixtureRecord(cloud, {
    db: { image: FIXTURE.v1, ports: [18501] },
    api: { image: apiImage, ports: [18511, 18512], dependsOn: ['db'], ...extra },
  });

beforeAll(async () => {
  worker = await startWorker(QUEUE);
  expect((await runCli(['apply', writeRecord(record(FIXTURE.v1))], QUEUE)).code).toBe(0);
});
afterAll(async () => {
  await worker?.stop();
  await removeCloudContainers(cloud);
});

async function expectUntouched<T>(fn: () => Promise<T>): Promise<T> {
  const before = await snapshot(cloud);
  const out = await fn();
  expect(await snapshot(cloud)).toEqual(before);
  return out;
}

/** A record with one edit applied to its plain object. */
function edited(edit: (r: ReturnType<typeof record>) => void): string {
  const r = record(FIXTURE.v2);
  edit(r);
  return writeRecord(r);
}

const semanticCases: Array<[string, (r: ReturnType<typeof record>) => void, RegExp]> = [
  [
    'unknown dependency',
    (r) => (r.spec.services[1]!.dependsOn = ['nosuch']),
    /spec\.services\[1\]\.dependsOn\[0\].*nosuch/,
  ],
  [
    'dependency cycle',
    (r) => (r.spec.services[0]!.dependsOn = ['api']),
    /cycle.*(db -> api -> db|api -> db -> api)/,
  ],
  ['two instances on one host:port', (r) => (r.spec.services[1]!.instances![1]!.port = 18501), /18501/],
  [
    'image without tag or digest',
    (r) => (r.spec.services[1]!.image = 'patchbay/fixture'),
    /spec\.services\[1\]\.image.*(tag|digest)/,
  ],
  [
    'schema: wrong type',
    (r) => ((r.spec.services[1]!.instances![0] as { port: unknown }).port = 'eighty'),
    /spec\.services\[1\]\.instances\[0\]\.port/,
  ],
  [
    'schema: unknown field',
    (r) => ((r.spec.services[1] as Record<string, unknown>).replicaCount = 3),
    /replicaCount/,
  ],
];

test.each(semanticCases)(
  '%s: validate and apply exit 2 naming file, path and value; nothing touched',
  async (_name, edit, expected) => {
    const file = edited(edit);
    const validated = await runCli(['validate', file], QUEUE);
    expect(validated.code).toBe(2);
    expect(validated.stderr).toContain(file);
    expect(validated.stderr).toMatch(expected);
    const applied = await expectUntouched(() => runCli(['apply', file], QUEUE));
    expect(applied.code).toBe(2);
    expect(applied.stderr).toMatch(expected);
  },
);

test('YAML syntax error: line number, exit 2', async () => {
  const file = writeRecord(record(FIXTURE.v1), 'broken.yaml');
  writeFileSync(file, 'apiVersion: patchbay/v1\nkind: Cloud\nmetadata: { name: x\n');
  const out = await runCli(['apply', file], QUEUE);
  expect(out.code).toBe(2);
  expect(out.stderr).toMatch(/broken\.yaml:\d+/);
});

test('missing file: exit 2 with the path', async () => {
  const out = await runCli(['apply', '/nonexistent/cloud.yaml'], QUEUE);
  expect(out.code).toBe(2);
  expect(out.stderr).toContain('/nonexistent/cloud.yaml');
});

test('unknown image: preflight refuses the revision, exit 1, nothing touched', async () => {
  const out = await expectUntouched(() =>
    runCli(['apply', writeRecord(record('patchbay/fixture:nosuch')), '--json'], QUEUE),
  );
  expect(out.code).toBe(1);
  const result = JSON.parse(out.stdout);
  expect(result.outcome).toBe('failed');
  expect(result.reason).toContain('image patchbay/fixture:nosuch is not present on host local');
  expect(result.reason).toContain('nothing was touched');
});

test('unreachable host: preflight refuses the revision, exit 1, nothing touched', async () => {
  const r = record(FIXTURE.v2);
  r.spec.runtime.docker!.hosts.push({ name: 'ctl2', endpoint: 'unix:///run/nosuch/docker.sock' });
  r.spec.services[1]!.instances!.push({ host: 'ctl2', port: 18513 });
  const out = await expectUntouched(() => runCli(['apply', writeRecord(r), '--json'], QUEUE));
  expect(out.code).toBe(1);
  expect(JSON.parse(out.stdout).reason).toMatch(
    /host ctl2 \(unix:\/\/\/run\/nosuch\/docker\.sock\) is unreachable/,
  );
});

test('an unresolvable secret reference: preflight refuses, and the secret value never appears', async () => {
  const r = record(FIXTURE.v2);
  (r.spec.services[1] as { secretEnv?: Record<string, string> }).secretEnv = {
    DB_PASSWORD: 'env:PATCHBAY_TEST_NO_SUCH_VAR',
  };
  const out = await expectUntouched(() => runCli(['apply', writeRecord(r), '--json'], QUEUE));
  expect(out.code).toBe(1);
  expect(JSON.parse(out.stdout).reason).toContain('no variable PATCHBAY_TEST_NO_SUCH_VAR');
});

test('rollback of an unknown cloud: exit 2', async () => {
  const out = await runCli(['rollback', 'no-such-cloud', 'api'], QUEUE);
  expect(out.code).toBe(2);
  expect(out.stderr).toContain('no cloud named "no-such-cloud"');
});

test('rollback of an unknown service or revision: exit 2, nothing touched', async () => {
  const unknownService = await expectUntouched(() => runCli(['rollback', cloud, 'nosuch'], QUEUE));
  expect(unknownService.code).toBe(2);
  expect(unknownService.stderr).toContain('service nosuch is not in the current revision');
  const unknownRevision = await expectUntouched(() =>
    runCli(['rollback', cloud, 'api', '--to-revision', '99'], QUEUE),
  );
  expect(unknownRevision.code).toBe(2);
  expect(unknownRevision.stderr).toContain('has no revision 99');
});

test('bad usage exits 2', async () => {
  expect((await runCli(['apply'], QUEUE)).code).toBe(2);
  expect((await runCli(['nosuchcommand'], QUEUE)).code).toBe(2);
  expect((await runCli(['rollback', cloud, 'api', '--to-revision', 'two'], QUEUE)).code).toBe(2);
  const help = await runCli(['apply', '--help'], QUEUE);
  expect(help.code).toBe(0);
  expect(help.stdout).toContain('refused (exit 2), not queued');
});

test('a second apply while a change runs is refused with the running change named; nothing else touched', async () => {
  const slow = record(FIXTURE.v2, { bake: '4s' });
  const first = runCli(['apply', writeRecord(slow), '-m', 'the slow one'], QUEUE);
  await waitFor('the first change to run', async () => {
    const s = await runCli(['status', cloud, '--json'], QUEUE);
    return s.code === 0 && JSON.parse(s.stdout).activeChange ? true : undefined;
  });
  const second = await runCli(['apply', writeRecord(record(FIXTURE.v3))], QUEUE);
  expect(second.code).toBe(2);
  expect(second.stderr).toContain('CLOUD_BUSY');
  expect(second.stderr).toMatch(
    /revision \d+ \(apply by jest .*"the slow one"\) is still running as workflow cloud:bad-/,
  );
  const rollback = await runCli(['rollback', cloud, 'api'], QUEUE);
  expect(rollback.code).toBe(2);
  expect(rollback.stderr).toContain('CLOUD_BUSY');
  expect((await first).code).toBe(0);
  // The refused changes left no revision behind.
  const history = JSON.parse((await runCli(['history', cloud, '--json'], QUEUE)).stdout);
  expect(history.revisions[0]).toMatchObject({ message: 'the slow one', outcome: 'applied' });
});

test('a malformed update from another client is rejected by the validator and leaves no trace', async () => {
  // Another system drives the cloud workflow directly through the documented update.
  const before = JSON.parse((await runCli(['history', cloud, '--json'], QUEUE)).stdout).total;
  const { Client, Connection } = await import('@temporalio/client');
  const connection = await Connection.connect({
    address: process.env.PATCHBAY_TEST_TEMPORAL_ADDRESS as string,
  });
  try {
    const handle = new Client({ connection }).workflow.getHandle(`cloud:${cloud}`);
    const error = await handle
      .executeUpdate('patchbay.apply', { args: [{ record: { kind: 'Cloud' }, author: 'x' }] })
      .then(
        () => undefined,
        (e: Error & { cause?: Error }) => e,
      );
    expect(error?.name).toBe('WorkflowUpdateFailedError');
    expect(error?.cause?.message).toMatch(/invalid deployment record: apiVersion/);
  } finally {
    await connection.close();
  }
  expect(JSON.parse((await runCli(['history', cloud, '--json'], QUEUE)).stdout).total).toBe(before);
});
