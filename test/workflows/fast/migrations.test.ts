// Fast tests of schema migrations in a revision (src/workflows/migrations.ts, serviceRollout.ts,
// serviceContract.ts, change.ts): check, expand and migrate before the first instance, contract only
// once every service of the revision succeeded, a manual contract held for an operator, a failed
// contract waiting for one, and nothing contracted when the revision is rolled back.
import type { CloudRecord } from '../../../src/record/schema';
import { changeWorkflow } from '../../../src/workflows';
import { changeWorkflowId, contractWorkflowId } from '../../../src/workflows/ids';
import { changeProgressQuery, resolveUpdate, serviceProgressQuery } from '../../../src/workflows/messages';
import type { ChangeResult, OperatorAction } from '../../../src/workflows/types';
import { fastRecord, type FastService } from '../../support/fastRecords';
import { cloudName, eventually, startFastEnv, type FastEnv } from '../../support/timeSkipping';

let fast: FastEnv;
beforeAll(async () => {
  fast = await startFastEnv();
}, 120_000);
afterAll(() => fast?.shutdown(), 30_000);

const step = (name: string) => ({ command: ['migrate', name], image: 'x/db:v1' });
const MIGRATIONS = {
  database: { service: 'db', name: 'api' },
  check: step('check'),
  expand: step('expand'),
  migrate: step('migrate'),
  contract: step('contract'),
};

/** db <- api (migrates db/api) <- web. */
function record(
  cloud: string,
  images: { api: string; web: string },
  migrations: FastService['migrations'] = MIGRATIONS,
  apiEnv: Record<string, string> = {},
): CloudRecord {
  return fastRecord(cloud, {
    db: { image: 'x/db:v1', ports: [8001] },
    api: { image: images.api, ports: [8101, 8102], dependsOn: ['db'], migrations, env: apiEnv },
    web: { image: images.web, ports: [8201], dependsOn: ['api'] },
  });
}

function startChange(cloud: string, revision: number, from: CloudRecord | null, to: CloudRecord) {
  return fast.client.workflow.start(changeWorkflow, {
    taskQueue: fast.taskQueue,
    workflowId: changeWorkflowId(cloud, revision),
    args: [{ cloud, revision, previousRevision: revision > 1 ? revision - 1 : null, from, to }],
  });
}

async function change(cloud: string, revision: number, from: CloudRecord | null, to: CloudRecord) {
  return (await startChange(cloud, revision, from, to)).result();
}

/** What revision N did, in order: "job <name>" for jobs, "start <service>" for instances, "commit". */
function timeline(cloud: string, revision: number): string[] {
  return fast.runtime
    .calls(cloud)
    .filter((e) => e.revision === revision || (e.op === 'commitInstance' && e.outcome === 'ok'))
    .flatMap((e) => {
      if (e.op === 'runJob' && e.outcome === 'ok') return [`job ${e.instance}`];
      if (e.op === 'startInstance' && e.outcome === 'ok') return [`start ${e.service}`];
      return [];
    })
    .filter((line, i, all) => line !== all[i - 1]); // one line per run of a service's starts
}

const jobsRun = (cloud: string, revision: number) =>
  fast.runtime
    .calls(cloud, 'runJob')
    .filter((e) => e.revision === revision && e.outcome === 'ok')
    .map((e) => e.instance);

async function onV1(prefix: string, migrations: FastService['migrations'] = MIGRATIONS) {
  const cloud = cloudName(prefix);
  const r1 = record(cloud, { api: 'x/api:v1', web: 'x/web:v1' }, migrations);
  expect((await change(cloud, 1, null, r1)).outcome).toBe('applied');
  return { cloud, r1 };
}

/** The contract workflow's gate, once it waits (advancing the test server's clock while it does not). */
async function contractGate(cloud: string, revision: number) {
  const handle = fast.client.workflow.getHandle(contractWorkflowId(cloud, revision, 'api'));
  return eventually('the contract gate', async () => {
    const progress = await handle.query(serviceProgressQuery).catch(() => null);
    if (!progress?.blocked) await fast.env.sleep(500);
    return progress?.blocked;
  });
}

async function decide(cloud: string, revision: number, action: OperatorAction) {
  await fast.client.workflow
    .getHandle(contractWorkflowId(cloud, revision, 'api'))
    .executeUpdate(resolveUpdate, { args: [{ action, author: 'jest', note: `test ${action}` }] });
}

/** The job of a migration phase fails as a real one does (exit 1, its last output), `times` times. */
const failJob = (cloud: string, phase: string, lastOutput: string, times?: number) =>
  fast.runtime.fail({
    op: 'runJob',
    cloud,
    instance: `migrate-${phase}`,
    type: 'JOB_FAILED',
    message: `job migrate-${phase} of api failed with exit code 1; last output:\n${lastOutput}`,
    ...(times !== undefined && { times }),
  });

const api = (result: ChangeResult) => result.services.find((s) => s.service === 'api')!;

describe('schema migrations (time-skipping, in-memory runtime)', () => {
  test('a new image: check, expand, migrate before its first instance; contract after every service of the revision, before the commit', async () => {
    const { cloud, r1 } = await onV1('order');
    const result = await change(cloud, 2, r1, record(cloud, { api: 'x/api:v2', web: 'x/web:v2' }));
    expect(result.outcome).toBe('applied');
    expect(timeline(cloud, 2)).toEqual([
      'job migrate-check-before',
      'job migrate-expand',
      'job migrate-migrate',
      'start api',
      'start web',
      'job migrate-contract',
      'job migrate-check-after',
    ]);
    // The commit (old containers removed) comes after the contract: until then a revert can use them.
    const calls = fast.runtime.calls(cloud);
    const contractAt = calls.findIndex((e) => e.instance === 'migrate-contract' && e.revision === 2);
    const commits = calls.flatMap((e, i) => (e.op === 'commitInstance' && i > contractAt ? [i] : []));
    expect(commits).toHaveLength(3);
    const m = api(result).migrations!;
    expect(m.phases.map((p) => [p.stage, p.exitCode, p.output])).toEqual([
      ['check-before', 0, 'migrate-check-before r2: ok'],
      ['expand', 0, 'migrate-expand r2: ok'],
      ['migrate', 0, 'migrate-migrate r2: ok'],
      ['contract', 0, 'migrate-contract r2: ok'],
      ['check-after', 0, 'migrate-check-after r2: ok'],
    ]);
    expect(m).toMatchObject({ database: { service: 'db', name: 'api' }, contract: 'done' });
    expect(Date.parse(m.contractedAt!)).toBeGreaterThan(0);
    // The services without migrations report none.
    expect(result.services.filter((s) => s.migrations).map((s) => s.service)).toEqual(['api']);
  });

  test('only a new image migrates: a settings change runs no phase; a new service runs them all', async () => {
    const { cloud, r1 } = await onV1('settings');
    expect(jobsRun(cloud, 1)).toEqual([
      'migrate-check-before',
      'migrate-expand',
      'migrate-migrate',
      'migrate-contract',
      'migrate-check-after',
    ]);
    const result = await change(
      cloud,
      2,
      r1,
      record(cloud, { api: 'x/api:v1', web: 'x/web:v1' }, MIGRATIONS, { LOG: 'debug' }),
    );
    expect(result.outcome).toBe('applied');
    expect(api(result).action).toBe('update');
    expect(api(result).migrations).toBeUndefined();
    expect(jobsRun(cloud, 2)).toEqual([]);
  });

  test('a later service fails: the revision rolls back on the expanded schema and never contracts', async () => {
    const { cloud, r1 } = await onV1('later-fails');
    // Once: the restored web passes its gate again.
    const clear = fast.runtime.fail({
      op: 'waitHealthy',
      cloud,
      service: 'web',
      type: 'HEALTH_GATE_FAILED',
      times: 1,
    });
    try {
      const result = await change(cloud, 2, r1, record(cloud, { api: 'x/api:v2', web: 'x/web:v2' }));
      expect(result.outcome).toBe('rolled-back');
      expect(api(result)).toMatchObject({ status: 'reverted' });
      expect(api(result).migrations).toMatchObject({ contract: 'not-run' });
      expect(jobsRun(cloud, 2)).toEqual(['migrate-check-before', 'migrate-expand', 'migrate-migrate']);
    } finally {
      clear();
    }
  });

  test('a failed expand stops the revision before any instance is touched', async () => {
    const { cloud, r1 } = await onV1('expand-fails');
    const clear = failJob(cloud, 'expand', 'duplicate column');
    try {
      const result = await change(cloud, 2, r1, record(cloud, { api: 'x/api:v2', web: 'x/web:v2' }));
      expect(result.outcome).toBe('failed');
      expect(api(result).reason).toMatch(/duplicate column.*before any instance was touched/s);
      expect(api(result).migrations?.phases.map((p) => p.stage)).toEqual(['check-before']);
      expect(fast.runtime.calls(cloud, 'retireInstance').filter((e) => e.revision === 2)).toEqual([]);
      expect(fast.runtime.calls(cloud, 'startInstance').filter((e) => e.revision === 2)).toEqual([]);
    } finally {
      clear();
    }
  });

  test('contract with approval: manual waits for an operator; approve contracts and applies', async () => {
    const manual = { ...MIGRATIONS, contract: { ...step('contract'), approval: 'manual' as const } };
    // Revision 1 creates the service: no previous release to protect, so its contract runs unasked.
    const { cloud, r1 } = await onV1('approve', manual);
    const handle = await startChange(
      cloud,
      2,
      r1,
      record(cloud, { api: 'x/api:v2', web: 'x/web:v2' }, manual),
    );
    const block = await contractGate(cloud, 2);
    expect(block).toMatchObject({ kind: 'contract-approval', allowed: ['approve', 'abandon', 'rollback'] });
    expect(block.reason).toMatch(/without --restore-database/);
    // Nothing contracted yet, every instance already on v2.
    expect(jobsRun(cloud, 2)).not.toContain('migrate-contract');
    await decide(cloud, 2, 'approve');
    const result = await handle.result();
    expect(result.outcome).toBe('applied');
    expect(api(result).migrations).toMatchObject({ contract: 'done' });
    expect(jobsRun(cloud, 2)).toContain('migrate-contract');
  });

  test('contract held for approval: rollback puts the previous revision back, abandon keeps the expanded schema', async () => {
    const manual = { ...MIGRATIONS, contract: { ...step('contract'), approval: 'manual' as const } };
    for (const action of ['rollback', 'abandon'] as const) {
      const { cloud, r1 } = await onV1(`decline-${action}`, manual);
      const handle = await startChange(
        cloud,
        2,
        r1,
        record(cloud, { api: 'x/api:v2', web: 'x/web:v2' }, manual),
      );
      await contractGate(cloud, 2);
      await decide(cloud, 2, action);
      const result = await handle.result();
      expect(jobsRun(cloud, 2)).not.toContain('migrate-contract');
      if (action === 'rollback') {
        expect(result.outcome).toBe('rolled-back');
        expect(result.services.map((s) => [s.service, s.status])).toEqual(
          expect.arrayContaining([
            ['api', 'reverted'],
            ['web', 'reverted'],
          ]),
        );
        expect(api(result).migrations).toMatchObject({ contract: 'not-run' });
      } else {
        expect(result.outcome).toBe('applied');
        expect(api(result).migrations).toMatchObject({ contract: 'skipped' });
        expect(result.reason).toMatch(/kept the expanded schema/);
      }
    }
  });

  test('a failed contract waits for an operator (retry or abandon), rolls nothing back; retry finishes it', async () => {
    const { cloud, r1 } = await onV1('contract-fails');
    const clear = failJob(cloud, 'contract', 'lock wait timeout', 1);
    try {
      const handle = await startChange(cloud, 2, r1, record(cloud, { api: 'x/api:v2', web: 'x/web:v2' }));
      const block = await contractGate(cloud, 2);
      expect(block).toMatchObject({ kind: 'contract-failed', allowed: ['retry', 'abandon'] });
      expect(block.reason).toMatch(/contract of db\/api failed: .*lock wait timeout/s);
      expect(fast.runtime.calls(cloud, 'restoreInstance').filter((e) => e.revision === 2)).toEqual([]);
      expect(await handle.query(changeProgressQuery)).toMatchObject({ phase: 'contracting' });
      await decide(cloud, 2, 'retry');
      const result = await handle.result();
      expect(result.outcome).toBe('applied');
      expect(api(result).migrations).toMatchObject({ contract: 'done' });
    } finally {
      clear();
    }
  });

  describe('snapshot and restore', () => {
    const SNAP = {
      ...MIGRATIONS,
      snapshot: {
        command: ['dump'],
        image: 'x/db:v1',
        directory: '/srv/snapshots',
        keep: 2,
        restore: { command: ['load'] },
        rows: { command: ['count'] },
      },
    };
    const v = (n: number) => ({ api: `x/api:v${n}`, web: 'x/web:v1' });

    test('a snapshot before expand: checksum, size and rows recorded, in the store; retention keeps `keep`', async () => {
      const { cloud, r1 } = await onV1('snap', SNAP);
      const r2 = record(cloud, v(2), SNAP);
      expect((await change(cloud, 2, r1, r2)).outcome).toBe('applied');
      const result = await change(cloud, 3, r2, record(cloud, v(3), SNAP));
      expect(result.outcome).toBe('applied');
      expect(timeline(cloud, 3).slice(0, 5)).toEqual([
        'job migrate-check-before',
        'job migrate-snapshot',
        'job migrate-rows',
        'job migrate-expand',
        'job migrate-migrate',
      ]);
      const m = api(result).migrations!;
      expect(m.phases.map((p) => p.stage)).toEqual([
        'check-before',
        'snapshot',
        'expand',
        'migrate',
        'contract',
        'check-after',
      ]);
      expect(m.snapshot).toMatchObject({
        path: `/srv/snapshots/${cloud}/api-r3.sql`,
        sha256: '3'.padStart(64, '0'),
        bytes: 1003,
        rows: { users: 30, tokens: 3 },
        // keep 2: revision 3's and 2's stay, revision 1's file goes.
        pruned: [1],
      });
      const stored = [1, 2, 3].map((n) => fast.store.snapshots.get(`${cloud}/api/${n}`));
      expect(stored.map((s) => [s?.revision, !!s?.prunedAt])).toEqual([
        [1, true],
        [2, false],
        [3, false],
      ]);
      expect(stored[2]).toMatchObject({ host: 'ctl1', sha256: m.snapshot!.sha256, rows: { users: 30 } });
    });

    test('a failed snapshot stops the revision before expand, with nothing touched', async () => {
      const { cloud, r1 } = await onV1('snap-fails', SNAP);
      const clear = failJob(cloud, 'snapshot', 'mariadb-dump: Got error: 1045: Access denied');
      try {
        const result = await change(cloud, 2, r1, record(cloud, v(2), SNAP));
        expect(result.outcome).toBe('failed');
        expect(api(result).reason).toMatch(/Access denied.*before any instance was touched/s);
        expect(jobsRun(cloud, 2)).toEqual(['migrate-check-before']);
        expect(fast.runtime.calls(cloud, 'retireInstance').filter((e) => e.revision === 2)).toEqual([]);
        expect(fast.store.snapshots.get(`${cloud}/api/2`)).toBeUndefined();
      } finally {
        clear();
      }
    });

    /** r1 (v1) -> r2 (v2, snapshot then contract): the rollback to v1 restores r2's snapshot. */
    async function contracted(prefix: string) {
      const { cloud, r1 } = await onV1(prefix, SNAP);
      const r2 = record(cloud, v(2), SNAP);
      expect((await change(cloud, 2, r1, r2)).outcome).toBe('applied');
      const back = { ...r1, spec: { ...r1.spec, services: r1.spec.services } };
      const restore = (revision: number) =>
        fast.client.workflow.start(changeWorkflow, {
          taskQueue: fast.taskQueue,
          workflowId: changeWorkflowId(cloud, revision),
          args: [
            {
              cloud,
              revision,
              previousRevision: revision - 1,
              from: r2,
              to: back,
              rollback: { service: 'api', restoreFrom: 2 },
            },
          ],
        });
      return { cloud, restore };
    }

    test('rollback --restore-database: every unit stopped, the snapshot loaded, the old code started; no migration runs; the loss window reported', async () => {
      const { cloud, restore } = await contracted('restore');
      const result = await (await restore(3)).result();
      expect(result.outcome).toBe('applied');
      const a = api(result);
      expect(a).toMatchObject({ status: 'succeeded', toVersion: 'v1' });
      expect(a.migrations).toBeUndefined();
      // Both instances stopped before the load, both started after it; no expand of the old code.
      const calls = fast.runtime.calls(cloud).filter((e) => e.revision === 3);
      const order = calls
        .filter(
          (e) => !/fail/.test(e.outcome) && ['retireInstance', 'startInstance', 'runJob'].includes(e.op),
        )
        .map((e) => (e.op === 'runJob' ? e.instance : `${e.op} ${e.instance}`));
      expect(order).toEqual([
        'retireInstance ctl1-8101',
        'retireInstance ctl1-8102',
        'migrate-rows',
        'migrate-restore',
        'startInstance ctl1-8101',
        'startInstance ctl1-8102',
      ]);
      expect(a.restore).toMatchObject({
        database: { service: 'db', name: 'api' },
        snapshot: { revision: 2, sha256: '2'.padStart(64, '0'), path: `/srv/snapshots/${cloud}/api-r2.sql` },
        rows: [
          { table: 'tokens', atSnapshot: 2, beforeRestore: 3 },
          { table: 'users', atSnapshot: 20, beforeRestore: 30 },
        ],
      });
      expect(Date.parse(a.restore!.lossWindow.to)).toBeGreaterThanOrEqual(
        Date.parse(a.restore!.lossWindow.from),
      );
      expect(fast.store.snapshots.get(`${cloud}/api/2`)?.lastRestoredAt).toBe(a.restore!.lossWindow.to);
      // The newer units are gone (committed) as the rollout ends, not left for the change to revert.
      const all = fast.runtime.calls(cloud);
      const loaded = all.findIndex((e) => e.instance === 'migrate-restore' && e.revision === 3);
      expect(all.slice(loaded).filter((e) => e.op === 'commitInstance' && e.outcome === 'ok')).toHaveLength(
        2,
      );
    });

    test('a failed restore waits for an operator; abandon puts the newer units back', async () => {
      const { cloud, restore } = await contracted('restore-fails');
      const clear = failJob(cloud, 'restore', 'ERROR 1049 (42000): Unknown database');
      try {
        const handle = await restore(3);
        const service = fast.client.workflow.getHandle(`cloud:${cloud}:r3:api`);
        const block = await eventually('the restore gate', async () => {
          const progress = await service.query(serviceProgressQuery).catch(() => null);
          if (!progress?.blocked) await fast.env.sleep(500);
          return progress?.blocked;
        });
        expect(block).toMatchObject({ kind: 'restore-failed', allowed: ['retry', 'abandon'] });
        expect(block.reason).toMatch(
          /restoring db\/api from the snapshot of revision 2 failed: .*Unknown database/s,
        );
        await service.executeUpdate(resolveUpdate, {
          args: [{ action: 'abandon', author: 'jest', note: '' }],
        });
        const result = await handle.result();
        expect(result.outcome).toBe('rolled-back');
        expect(api(result).reason).toMatch(/abandoned by operator/);
        expect(fast.runtime.calls(cloud, 'restoreInstance').filter((e) => e.revision === 3)).toHaveLength(2);
        expect(fast.runtime.calls(cloud, 'startInstance').filter((e) => e.revision === 3)).toEqual([]);
      } finally {
        clear();
      }
    });
  });
});
