// Compensating rollback: a patch that fails its health gate, or dies during bake, is rolled back
// automatically; a compensation that itself fails waits for an operator.
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
import { FIXTURE } from '../support/fixtures';
import { saveHistories } from '../support/histories';
import { testEnv } from '../support/env';
import { OUTCOME } from '../../src/workflows/searchAttributes';
import { Client, Connection } from '@temporalio/client';

jest.setTimeout(180_000);

const QUEUE = 'rollback-it';
let worker: WorkerProcess;
const clouds: string[] = [];

beforeAll(async () => {
  worker = await startWorker(QUEUE);
});
afterAll(async () => {
  await worker?.stop();
  for (const cloud of clouds) await removeCloudContainers(cloud);
});

async function deployed(
  prefix: string,
  ports: number[],
  extra: Partial<Parameters<typeof fixtureRecord>[1]['x']> = {},
) {
  const cloud = cloudName(prefix);
  clouds.push(cloud);
  const record = (image: string) =>
    fixtureRecord(cloud, {
      other: { image: FIXTURE.v1, ports: [ports[0] as number] },
      api: { image, ports: ports.slice(1), timeout: '4s', ...extra },
    });
  const first = await runCli(['apply', writeRecord(record(FIXTURE.v1))], QUEUE);
  expect(first.code).toBe(0);
  return { cloud, record, before: await snapshot(cloud) };
}

test('a failing health gate rolls back every replaced instance; previous version serves everywhere', async () => {
  const ports = [18301, 18311, 18312, 18313];
  const { cloud, record, before } = await deployed('gate', ports);

  const result = await runCli(['apply', writeRecord(record(FIXTURE.broken)), '--json'], QUEUE);
  expect(result.code).toBe(1);
  const out = JSON.parse(result.stdout);
  expect(out.outcome).toBe('rolled-back');
  // The reason names the instance, the check and the last response.
  expect(out.reason).toContain('api/local-18311');
  expect(out.reason).toContain('GET http://127.0.0.1:18311/health expecting 200');
  expect(out.reason).toContain('404');
  expect(await servedVersions(ports.slice(1))).toEqual(['v1', 'v1', 'v1']);

  // The restored containers are the very ones that ran before (kept, not recreated), and nothing is left over.
  const after = await snapshot(cloud);
  expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
  for (const [name, c] of before) expect(after.get(name)?.id).toBe(c.id);

  const history = JSON.parse((await runCli(['history', cloud, '--json'], QUEUE)).stdout);
  expect(history.current).toBe(1);
  const second = history.revisions.find((r: { number: number }) => r.number === 2);
  expect(second).toMatchObject({ number: 2, outcome: 'rolled-back' });
  expect(second.reason).toContain('404');

  // Findable as what it was, not as a green "Completed": Outcome and Cloud search attributes.
  const connection = await Connection.connect({ address: testEnv('address') });
  try {
    const client = new Client({ connection });
    const found = await waitFor(
      'the rolled-back change in visibility',
      async () => {
        const ids: string[] = [];
        for await (const w of client.workflow.list({
          query: `Cloud = "${cloud}" AND Outcome = "rolled-back"`,
        }))
          ids.push(w.workflowId);
        return ids.length > 0 ? ids : undefined;
      },
      15_000,
      250,
    );
    expect(found).toEqual([`cloud:${cloud}:r2`]);
    const applied = [];
    for await (const w of client.workflow.list({ query: `Cloud = "${cloud}" AND Outcome = "applied"` }))
      applied.push(w.workflowId);
    expect(applied).toEqual([`cloud:${cloud}:r1`]);
    const description = await client.workflow.getHandle(`cloud:${cloud}:r2`).describe();
    expect(description.typedSearchAttributes.get(OUTCOME)).toBe('rolled-back');
  } finally {
    await connection.close();
  }

  // Human output says so too.
  const again = await runCli(['apply', writeRecord(record(FIXTURE.broken))], QUEUE);
  expect(again.code).toBe(1);
  expect(again.stdout).toContain('was ROLLED BACK');
  expect(again.stdout).toContain('the cloud stays on its previous revision');

  await saveHistories([
    { workflowId: `cloud:${cloud}:r2`, file: 'change-rollback.json' },
    { workflowId: `cloud:${cloud}:r2:api`, file: 'service-rollback.json' },
  ]);
});

test('an instance that exits during bake is rolled back', async () => {
  const ports = [18321, 18331, 18332];
  const { cloud, record, before } = await deployed('bake', ports, { bake: '6s' });

  const result = await runCli(['apply', writeRecord(record(FIXTURE.crash)), '--json'], QUEUE);
  expect(result.code).toBe(1);
  const out = JSON.parse(result.stdout);
  expect(out.outcome).toBe('rolled-back');
  expect(out.reason).toMatch(/failed during bake/);
  expect(await servedVersions(ports.slice(1))).toEqual(['v1', 'v1']);
  const after = await snapshot(cloud);
  for (const [name, c] of before) expect(after.get(name)?.id).toBe(c.id);
});

test('a failed compensation waits for an operator, who fixes the cause and retries', async () => {
  const ports = [18341, 18351, 18352];
  const { cloud, record } = await deployed('comp', ports);
  // Break the way back while the patch runs: once the first old container is kept aside, delete it
  // and untag the old image, so compensation can neither restart nor recreate the old instance.
  await docker.getImage(FIXTURE.v1).tag({ repo: 'patchbay/fixture', tag: 'v1-saved' });
  const apply = runCli(['apply', writeRecord(record(FIXTURE.broken))], QUEUE);
  const waitingForOperator = () =>
    waitFor(
      'the operator gate',
      async () => {
        const s = await runCli(['status', cloud, '--json'], QUEUE);
        const waiting = s.code === 0 ? JSON.parse(s.stdout).waitingForOperator : null;
        return waiting ?? undefined;
      },
      60_000,
      500,
    );
  try {
    const kept = await waitFor('the kept container', async () => {
      const snap = await snapshot(cloud);
      return [...snap.values()].find((c) => c.name.includes('--retired-'));
    });
    await docker.getContainer(kept.id).remove({ force: true });
    await docker.getImage(FIXTURE.v1).remove({ noprune: true });

    const first = await waitingForOperator();
    expect(first).toMatchObject({
      service: 'api',
      kind: 'compensation-failed',
      allowed: ['retry', 'abandon'],
    });
    expect(first.reason).toContain('image patchbay/fixture:v1 is not present');

    // An action that is not allowed now is refused, and nothing changes.
    const refused = await runCli(['resolve', cloud, 'rollback'], QUEUE);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('choose one of: retry, abandon');

    // Retrying before the cause is fixed fails again and waits again.
    expect((await runCli(['resolve', cloud, 'retry'], QUEUE)).code).toBe(0);
    await waitFor(
      'the compensation to fail again',
      async () => {
        const s = JSON.parse((await runCli(['status', cloud, '--json'], QUEUE)).stdout);
        return s.waitingForOperator && s.waitingForOperator.since !== first.since ? true : undefined;
      },
      60_000,
      500,
    );

    // Fix the cause (the image is back) and retry: the old version is recreated and serves.
    await docker.getImage('patchbay/fixture:v1-saved').tag({ repo: 'patchbay/fixture', tag: 'v1' });
    const resolved = await runCli(['resolve', cloud, 'retry', '-m', 'image restored'], QUEUE);
    expect(resolved.code).toBe(0);
    expect(resolved.stdout).toContain('decision "retry" sent');
    const done = await apply;
    expect(done.code).toBe(1);
    expect(done.stdout).toContain('was ROLLED BACK');
    expect(await servedVersions(ports.slice(1))).toEqual(['v1', 'v1']);
  } finally {
    await docker.getImage('patchbay/fixture:v1-saved').tag({ repo: 'patchbay/fixture', tag: 'v1' });
    await docker.getImage('patchbay/fixture:v1-saved').remove({ noprune: true });
  }
});
