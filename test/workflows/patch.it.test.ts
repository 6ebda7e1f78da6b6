// Scenario 1 (patch one service, leave the rest alone) and Scenario 2 (revert), through the real CLI,
// a real worker process, the real Temporal dev server and real containers.
import {
  baseEnv,
  cloudName,
  fixtureRecord,
  removeCloudContainers,
  runCli,
  servedVersions,
  snapshot,
  startWorker,
  writeRecord,
  type WorkerProcess,
} from '../support/harness';
import { FIXTURE } from '../support/fixtures';
import { PatchbayClient } from '../../src/client/patchbayClient';
import { temporalConfig } from '../../src/lib/config';
import { CloudRecordSchema } from '../../src/record/schema';
import { saveHistories } from '../support/histories';

jest.setTimeout(180_000);

const QUEUE = 'patch-it';
const DB = [18201];
const API = [18211, 18212, 18213];
const WEB = [18221];
let worker: WorkerProcess;
const cloud = cloudName('patch');

const record = (apiImage: string) =>
  fixtureRecord(cloud, {
    db: { image: FIXTURE.v1, ports: DB },
    api: { image: apiImage, ports: API, dependsOn: ['db'], bake: '500ms' },
    web: { image: FIXTURE.v1, ports: WEB, dependsOn: ['api'] },
  });

beforeAll(async () => {
  worker = await startWorker(QUEUE);
});
afterAll(async () => {
  await worker?.stop();
  await removeCloudContainers(cloud);
});

test('deploy, patch one service, revert: other containers keep id and start time', async () => {
  // Deploy three services in dependency order.
  const deployed = await runCli(
    ['apply', writeRecord(record(FIXTURE.v1)), '-m', 'first deploy', '--json'],
    QUEUE,
  );
  expect(deployed.stderr).toBe('');
  expect(deployed.code).toBe(0);
  const deployResult = JSON.parse(deployed.stdout);
  expect(deployResult.outcome).toBe('applied');
  expect(deployResult.revision).toBe(1);
  expect(
    deployResult.services.map((s: { service: string; action: string }) => `${s.service}:${s.action}`),
  ).toEqual(['db:create', 'api:create', 'web:create']);
  expect(await servedVersions([...DB, ...API, ...WEB])).toEqual(['v1', 'v1', 'v1', 'v1', 'v1']);
  const before = await snapshot(cloud);
  expect(before.size).toBe(5);

  // Plan shows exactly one service changing.
  const planned = await runCli(['plan', writeRecord(record(FIXTURE.v2)), '--json'], QUEUE);
  expect(planned.code).toBe(0);
  const plan = JSON.parse(planned.stdout);
  expect(plan.services.map((s: { service: string; action: string }) => `${s.service}:${s.action}`)).toEqual([
    'db:unchanged',
    'api:patch',
    'web:unchanged',
  ]);
  expect(await snapshot(cloud)).toEqual(before); // a plan changes nothing

  // Scenario 1: patch api to v2.
  const patched = await runCli(['apply', writeRecord(record(FIXTURE.v2)), '-m', 'security fix'], QUEUE);
  expect(patched.code).toBe(0);
  expect(patched.stdout).toContain('revision 2 of cloud');
  expect(patched.stdout).toMatch(/api\s+patch\s+succeeded v1 -> v2/);
  // Live per-instance lines while it runs (which intermediate phases a 500 ms poll catches varies).
  for (const port of API)
    expect(patched.stderr).toMatch(new RegExp(`api\\s+local-${port}\\s+done \\(healthy after`));
  expect(await servedVersions(API)).toEqual(['v2', 'v2', 'v2']);
  const after = await snapshot(cloud);
  expect(after.size).toBe(5); // kept old containers were removed after success
  for (const [name, c] of before) {
    if (c.service === 'api') {
      expect(after.get(name)?.id).not.toBe(c.id);
      expect(after.get(name)?.revision).toBe('2');
    } else {
      expect(after.get(name)).toEqual(c); // same id, same start time, still running
    }
  }

  // Scenario 2 via `rollback`: back to the previous spec of api, as a new revision.
  const rolledBack = await runCli(['rollback', cloud, 'api', '--json'], QUEUE);
  expect(rolledBack.code).toBe(0);
  const rb = JSON.parse(rolledBack.stdout);
  expect(rb).toMatchObject({ revision: 3, outcome: 'applied' });
  expect(await servedVersions(API)).toEqual(['v1', 'v1', 'v1']);

  // Scenario 2 via editing the record: patch again, then apply the v1 record.
  expect((await runCli(['apply', writeRecord(record(FIXTURE.v2))], QUEUE)).code).toBe(0);
  expect(await servedVersions(API)).toEqual(['v2', 'v2', 'v2']);
  expect(
    (await runCli(['apply', writeRecord(record(FIXTURE.v1)), '-m', 'revert by record'], QUEUE)).code,
  ).toBe(0);
  expect(await servedVersions(API)).toEqual(['v1', 'v1', 'v1']);
  const final = await snapshot(cloud);
  for (const [name, c] of before) if (c.service !== 'api') expect(final.get(name)).toEqual(c);

  // History keeps every revision with who, why and outcome.
  const history = JSON.parse((await runCli(['history', cloud, '--json'], QUEUE)).stdout);
  expect(history.current).toBe(5);
  expect(
    history.revisions.map((r: { number: number; outcome: string }) => `${r.number}:${r.outcome}`),
  ).toEqual(['5:applied', '4:applied', '3:applied', '2:applied', '1:applied']); // newest first
  expect(history.total).toBe(5);
  expect(history.revisions[3]).toMatchObject({ author: 'jest', message: 'security fix' });
  expect(history.revisions[2]).toMatchObject({ rollbackOf: { service: 'api', toRevision: 1 } });

  // Any past revision can be shown.
  const shown = await runCli(['show', cloud, '2'], QUEUE);
  expect(shown.code).toBe(0);
  expect(shown.stdout).toContain('image: patchbay/fixture:v2');

  // Status: recorded version, running version per instance, healthy, no drift.
  const status = JSON.parse((await runCli(['status', cloud, '--json'], QUEUE)).stdout);
  const api = status.services.find((s: { service: string }) => s.service === 'api');
  expect(api.recordedVersion).toBe('v1');
  expect(
    api.instances.map((i: { runningVersion: string; health: string }) => `${i.runningVersion} ${i.health}`),
  ).toEqual(['v1 healthy (200 OK)', 'v1 healthy (200 OK)', 'v1 healthy (200 OK)']);
  expect(api.drift).toEqual([]);

  // A program applying changes back to back: the next one is accepted as soon as the last returned.
  const client = await PatchbayClient.connect(temporalConfig(baseEnv(QUEUE)));
  try {
    for (const image of [FIXTURE.v3, FIXTURE.v1]) {
      const accepted = await client.apply(CloudRecordSchema.parse(record(image)), {
        message: 'back to back',
        author: 'jest',
      });
      expect((await client.waitForChange(cloud, accepted)).outcome).toBe('applied');
    }
  } finally {
    await client.close();
  }
  expect(await servedVersions(API)).toEqual(['v1', 'v1', 'v1']);

  await saveHistories([
    { workflowId: `cloud:${cloud}`, file: 'cloud.json' },
    { workflowId: `cloud:${cloud}:r2`, file: 'change-patch.json' },
    { workflowId: `cloud:${cloud}:r2:api`, file: 'service-patch.json' },
  ]);
});
