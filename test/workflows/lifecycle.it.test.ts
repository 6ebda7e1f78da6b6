// Longer-lived behaviour of a cloud: continue-as-new keeps the revisions, `onFailure: pause` waits
// for an operator, and removing a service or an instance touches only what was removed.
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { PatchbayClient } from '../../src/client/patchbayClient';
import { temporalConfig } from '../../src/lib/config';
import { CloudRecordSchema } from '../../src/record/schema';
import { cloudWorkflow } from '../../src/workflows/cloud';
import { cloudWorkflowId } from '../../src/workflows/ids';
import {
  baseEnv,
  cloudName,
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

jest.setTimeout(180_000);

const QUEUE = 'lifecycle-it';
let worker: WorkerProcess;
let client: PatchbayClient;
const clouds: string[] = [];

beforeAll(async () => {
  worker = await startWorker(QUEUE, { PATCHBAY_TEST_JOB_SECRET: 'job-secret' });
  client = await PatchbayClient.connect(temporalConfig(baseEnv(QUEUE)));
});
afterAll(async () => {
  await client?.close();
  await worker?.stop();
  for (const cloud of clouds) await removeCloudContainers(cloud);
});

test('the cloud workflow continues as new when its history grows, keeping every revision', async () => {
  const cloud = cloudName('can');
  clouds.push(cloud);
  const handle = await client.client.workflow.start(cloudWorkflow, {
    workflowId: cloudWorkflowId(cloud),
    taskQueue: QUEUE,
    args: [{ name: cloud, maxHistoryEvents: 30 }],
  });
  const firstRun = handle.firstExecutionRunId;
  for (const [i, image] of [FIXTURE.v1, FIXTURE.v2, FIXTURE.v1].entries()) {
    const record = CloudRecordSchema.parse(fixtureRecord(cloud, { api: { image, ports: [18801] } }));
    const accepted = await client.apply(record, { message: `change ${i + 1}`, author: 'jest' });
    expect((await client.waitForChange(cloud, accepted)).outcome).toBe('applied');
  }
  const described = await waitFor('a new run', async () => {
    const d = await client.client.workflow.getHandle(cloudWorkflowId(cloud)).describe();
    return d.runId !== firstRun ? d : undefined;
  });
  expect(described.status.name).toBe('RUNNING');
  const state = await client.state(cloud);
  expect(state?.current).toBe(3);
  const history = await client.history(cloud);
  expect(history.revisions.map((r) => `${r.number} ${r.message} ${r.outcome}`)).toEqual([
    '3 change 3 applied',
    '2 change 2 applied',
    '1 change 1 applied',
  ]);
  expect(history.current).toBe(3);
  // The new run goes on taking changes, numbered on.
  const rollback = await runCli(['rollback', cloud, 'api', '--json'], QUEUE);
  expect(rollback.code).toBe(0);
  expect(JSON.parse(rollback.stdout)).toMatchObject({ revision: 4, outcome: 'applied' });
  expect(await servedVersions([18801])).toEqual(['v2']);
});

test('onFailure: pause waits for an operator, who chooses rollback', async () => {
  const cloud = cloudName('pause');
  clouds.push(cloud);
  const ports = [18811, 18812];
  const record = (image: string) =>
    fixtureRecord(cloud, { api: { image, ports, timeout: '3s', onFailure: 'pause' } });
  expect((await runCli(['apply', writeRecord(record(FIXTURE.v1))], QUEUE)).code).toBe(0);
  const apply = runCli(['apply', writeRecord(record(FIXTURE.broken))], QUEUE);
  const waiting = await waitFor(
    'the pause',
    async () => {
      const s = await runCli(['status', cloud, '--json'], QUEUE);
      return s.code === 0 ? (JSON.parse(s.stdout).waitingForOperator ?? undefined) : undefined;
    },
    60_000,
    500,
  );
  expect(waiting).toMatchObject({ service: 'api', kind: 'rollout-failed', allowed: ['rollback', 'abandon'] });
  expect(waiting.reason).toContain('404');
  // Paused means paused: the failed instance is left as it is for the operator to look at, the rest untouched.
  expect(await servedVersions(ports)).toEqual(['broken', 'v1']);
  const human = await runCli(['status', cloud], QUEUE);
  expect(human.stdout).toContain(`decide with: patchbay resolve ${cloud} rollback|abandon`);

  expect((await runCli(['resolve', cloud, 'rollback', '-m', 'looked at it'], QUEUE)).code).toBe(0);
  const done = await apply;
  expect(done.code).toBe(1);
  expect(done.stdout).toContain('was ROLLED BACK');
  expect(await servedVersions(ports)).toEqual(['v1', 'v1']);
  // The decision is in the audit log: who, when, what, why, and where it went.
  const audit = JSON.parse((await runCli(['audit', cloud, '--json'], QUEUE)).stdout);
  expect(audit.entries).toEqual([
    expect.objectContaining({
      key: expect.stringMatching(new RegExp(`^cloud:${cloud}:r2:api:`)),
      actor: 'jest',
      action: 'resolve:rollback',
      targetKind: 'cloud',
      target: cloud,
      reason: 'looked at it',
      detail: expect.objectContaining({
        workflowId: `cloud:${cloud}:r2:api`,
        revision: 2,
        service: 'api',
        block: 'rollout-failed',
      }),
    }),
  ]);
  expect((await runCli(['audit', cloud], QUEUE)).stdout).toMatch(/jest\s+resolve:rollback\s+looked at it/);
  // A service workflow that recorded an operator decision, for the replay test.
  await saveHistories([{ workflowId: `cloud:${cloud}:r2:api`, file: 'service-resolve-audit.json' }]);
});

test('removing a service and an instance removes only those containers', async () => {
  const cloud = cloudName('shrink');
  clouds.push(cloud);
  const full = fixtureRecord(cloud, {
    db: { image: FIXTURE.v1, ports: [18821] },
    api: { image: FIXTURE.v1, ports: [18831, 18832] },
  });
  expect((await runCli(['apply', writeRecord(full)], QUEUE)).code).toBe(0);
  const before = await snapshot(cloud);
  expect(before.size).toBe(3);

  const smaller = fixtureRecord(cloud, { api: { image: FIXTURE.v1, ports: [18831] } });
  const plan = JSON.parse((await runCli(['plan', writeRecord(smaller), '--json'], QUEUE)).stdout);
  expect(plan.services.map((s: { service: string; action: string }) => `${s.service}:${s.action}`)).toEqual([
    'api:update',
    'db:remove',
  ]);
  const out = await runCli(['apply', writeRecord(smaller), '--json'], QUEUE);
  expect(out.code).toBe(0);
  const after = await snapshot(cloud);
  expect([...after.keys()]).toEqual([`pb-${cloud}-api-local-18831`]);
  expect(after.get(`pb-${cloud}-api-local-18831`)).toEqual(before.get(`pb-${cloud}-api-local-18831`));
});

test('before/after jobs run once per change that needs them; a failing one stops the change untouched', async () => {
  const cloud = cloudName('jobs');
  clouds.push(cloud);
  const marker = `/tmp/patchbay-${cloud}-jobs`;
  const record = (image: string, beforeScript: string) => {
    const r = fixtureRecord(cloud, { api: { image, ports: [18841, 18842] } });
    (r.spec.services[0] as Record<string, unknown>).volumes = [{ source: '/tmp', target: '/host-tmp' }];
    (r.spec.services[0] as Record<string, unknown>).jobs = {
      before: [
        {
          name: 'db-sync',
          command: ['job', beforeScript],
          secretEnv: { DB_PASSWORD: 'env:PATCHBAY_TEST_JOB_SECRET' },
        },
      ],
      after: [
        { name: 'contract', command: ['job', `echo after-$VERSION >> /host-tmp/${path.basename(marker)}`] },
      ],
    };
    return r;
  };
  const sync = (tag: string) =>
    `test -n "$DB_PASSWORD" && echo before-${tag} >> /host-tmp/${path.basename(marker)}`;
  expect((await runCli(['apply', writeRecord(record(FIXTURE.v1, sync('v1'))), '--json'], QUEUE)).code).toBe(
    0,
  );
  const patched = await runCli(['apply', writeRecord(record(FIXTURE.v2, sync('v2'))), '--json'], QUEUE);
  expect(patched.code).toBe(0);
  // Jobs ran in order around the instances, with the secret resolved; the revision says which ran.
  expect(readFileSync(marker, 'utf8').trim().split('\n')).toEqual([
    'before-v1',
    'after-v1',
    'before-v2',
    'after-v2',
  ]);
  const service = JSON.parse(patched.stdout).services[0];
  expect(
    service.jobs.map(
      (j: { job: string; phase: string; exitCode: number }) => `${j.phase}:${j.job}:${j.exitCode}`,
    ),
  ).toEqual(['before:db-sync:0', 'after:contract:0']);
  // No job container is left behind.
  expect([...(await snapshot(cloud)).keys()].filter((n) => n.includes('-job-'))).toEqual([]);

  // A failing before job: the change stops before any instance is touched, and says why.
  const before = await snapshot(cloud);
  const failed = await runCli(
    ['apply', writeRecord(record(FIXTURE.v3, 'echo "schema is locked" >&2; exit 3')), '--json'],
    QUEUE,
  );
  expect(failed.code).toBe(1);
  const result = JSON.parse(failed.stdout);
  expect(result.outcome).toBe('failed');
  expect(result.reason).toContain('job db-sync of api failed with exit code 3');
  expect(result.reason).toContain('schema is locked');
  expect(result.reason).toContain('before any instance was touched');
  expect(await snapshot(cloud)).toEqual(before);
  expect(await servedVersions([18841, 18842])).toEqual(['v2', 'v2']);
  rmSync(marker, { force: true });
});
