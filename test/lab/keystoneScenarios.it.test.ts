// End to end on real OpenStack (Debian's Keystone, Glance, Placement, MariaDB, HAProxy images), one
// sample cloud for all of it: deployed, then, under a token load through HAProxy, Keystone is patched
// to the security fix, reverted, given a broken build that must roll back by itself, upgraded 22 -> 27
// across its schema change (issue 17), refused a rollback past the contract, and rolled back with its
// database restored; then (issue 18) reconfigured through the record, rolled back, and given a
// keystone.conf it cannot load. Every check is made on the real thing: dpkg-query and keystone.conf
// inside each container, container ids and start times, Keystone's own answer on tokens, and every
// request of the load.
import { mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { PatchbayClient } from '../../src/client/patchbayClient';
import { temporalConfig } from '../../src/lib/config';
import { KEYSTONE, openstackLab } from '../../src/lab/openstackLab';
import { EXPECTED, runKeystoneScenarios, type ScenarioReport } from '../../src/lab/keystoneScenarios';
import { KEYSTONE_27_PACKAGE } from '../../src/lab/keystoneUpgrade';
import {
  LIFETIME,
  RECONFIGURE_EXPECTED,
  runKeystoneReconfigure,
  type ReconfigureReport,
} from '../../src/lab/keystoneReconfigure';
import type { LoadSummary } from '../../src/lab/httpLoad';
import { testEnv } from '../support/env';
import { docker, removeCloudContainers, startWorker, type WorkerProcess } from '../support/harness';

jest.setTimeout(20 * 60_000);

const QUEUE = 'openstack-e2e';
// Its own name, directory and ports (the example's + 1000): never the demo's os-lab.
const root = mkdtempSync(path.join('/var/tmp', 'patchbay-e2e-'));
const lab = openstackLab({ name: 'os-e2e', root, portShift: 1000, keystoneBakeMs: 1_000 });
let worker: WorkerProcess;
let client: PatchbayClient;
let reports: ScenarioReport[] = [];
let wholeRun: LoadSummary | null = null;

const step = (name: ScenarioReport['step']) => {
  const found = reports.find((r) => r.step === name);
  if (!found) throw new Error(`no ${name} step ran: ${JSON.stringify(reports, null, 2)}`);
  return found;
};

beforeAll(async () => {
  await removeCloudContainers(lab.name);
  // The worker resolves the record's env: references from its own environment, as in production.
  worker = await startWorker(QUEUE, lab.secretEnv);
  client = await PatchbayClient.connect(
    temporalConfig({ TEMPORAL_ADDRESS: testEnv('address'), PATCHBAY_TASK_QUEUE: QUEUE }),
  );
  ({ steps: reports, wholeRun } = await runKeystoneScenarios({
    client,
    docker,
    lab,
    author: 'jest',
    upgrade: true,
  }));
  // A failed step is explained in the worker's log (a failed gate logs the instance's last output).
  if (reports.some((r) => r.outcome !== EXPECTED[r.step].outcome))
    console.error(worker.output().slice(-8000));
});

afterAll(async () => {
  await client?.close();
  await worker?.stop();
  await removeCloudContainers(lab.name);
  rmSync(root, { recursive: true, force: true });
});

test('one apply deploys the whole sample cloud on Keystone deb12u3', () => {
  const deploy = step('deploy');
  expect(deploy.outcome).toBe('applied');
  expect(Object.values(deploy.keystonePackages)).toEqual([
    KEYSTONE.oldPackage,
    KEYSTONE.oldPackage,
    KEYSTONE.oldPackage,
  ]);
});

test.each(['patch', 'revert', 'bad-patch'] as const)(
  '%s: expected outcome and package on every Keystone, zero failed requests, nothing else touched, the early token validates',
  (name) => {
    const report = step(name);
    expect({ outcome: report.outcome, reason: report.reason }).toMatchObject({
      outcome: EXPECTED[name].outcome,
    });
    expect(Object.values(report.keystonePackages)).toEqual(Array(3).fill(EXPECTED[name].keystone));
    // The load ran the whole change: tokens were issued and /v3 read, and not one request failed.
    expect(report.load!.requests).toBeGreaterThan(20);
    expect({ failed: report.load!.failed, failures: report.load!.failures }).toEqual({
      failed: 0,
      failures: [],
    });
    // MariaDB, Glance, Placement and HAProxy: same container id and start time.
    expect(report.others!.compared).toBe(4);
    expect(report.others!.changed).toEqual([]);
    expect(report.earlyTokenValid).toBe(true);
  },
);

test('one load ran from deploy to the end (tokens and /v3 through HAProxy): no request failed outside the restore', () => {
  expect(wholeRun!.requests).toBeGreaterThan(100);
  // The restore stops every Keystone (the database goes back): its window holds every failure.
  expect(wholeRun!.failed).toBe(step('restore').load!.failed);
  // Every change window is part of it.
  const inWindows = reports.reduce((n, r) => n + (r.load?.requests ?? 0), 0);
  expect(wholeRun!.requests).toBeGreaterThanOrEqual(inWindows);
});

test('the bad patch is recorded as rolled back, with the reason the health gate saw', async () => {
  const bad = step('bad-patch');
  expect(bad.reason).toMatch(/keystone/);
  const state = await client.requireCloud(lab.name);
  const revision = await client.revision(lab.name, bad.revision);
  expect(revision?.outcome).toBe('rolled-back');
  expect(revision?.reason).toMatch(/HTTP 500|500/);
  // The bad patch never became current: the upgrade came right after the revert, then the restore.
  expect(step('upgrade').revision).toBe(bad.revision + 1);
  expect(state.current).toBe(step('restore').revision);
});

test('upgrade 22 -> 27 under load: check, snapshot, expand, rolling replace, contract; every Keystone on 27, no request failed, nothing else touched', () => {
  const report = step('upgrade');
  expect({ outcome: report.outcome, reason: report.reason }).toEqual({
    outcome: 'applied',
    reason: undefined,
  });
  expect(Object.values(report.keystonePackages)).toHaveLength(3);
  for (const v of Object.values(report.keystonePackages)) expect(v).toMatch(KEYSTONE_27_PACKAGE);
  // check says 2 (expand needed) before and 0 after; every other phase succeeded.
  expect(report.migrations!.map((p) => [p.stage, p.exitCode])).toEqual([
    ['check-before', 2],
    ['snapshot', 0],
    ['expand', 0],
    ['contract', 0],
    ['check-after', 0],
  ]);
  expect(report.load!.requests).toBeGreaterThan(20);
  expect({ failed: report.load!.failed, failures: report.load!.failures }).toEqual({
    failed: 0,
    failures: [],
  });
  expect(report.others).toEqual({ compared: 4, changed: [] });
  expect(report.earlyTokenValid).toBe(true);
  expect(report.adminCanAuthenticate).toBe(true);
});

test('a rollback to 22 after the contract is refused, naming the revision; nothing moves, no request fails', () => {
  const report = step('rollback-refused');
  expect(report.outcome).toBe('refused');
  expect(report.reason).toMatch(
    new RegExp(
      `revision ${step('upgrade').revision} contracted database mariadb/keystone .*--restore-database`,
    ),
  );
  for (const v of Object.values(report.keystonePackages)) expect(v).toMatch(KEYSTONE_27_PACKAGE);
  expect(report.load!.failed).toBe(0);
  expect(report.others).toEqual({ compared: 4, changed: [] });
});

test('rollback --restore-database: Keystone 22 on the database as it was before the expand; the admin authenticates, the early token validates; the loss window and the failed requests reported', () => {
  const report = step('restore');
  expect({ outcome: report.outcome, reason: report.reason }).toEqual({
    outcome: 'applied',
    reason: undefined,
  });
  expect(Object.values(report.keystonePackages)).toEqual(Array(3).fill(KEYSTONE.oldPackage));
  expect(report.restore).toMatchObject({
    database: { service: 'mariadb', name: 'keystone' },
    snapshot: { revision: step('upgrade').revision },
  });
  // Keystone's tables, counted at the snapshot and again before the restore.
  const rows = report.restore!.rows!;
  expect(rows.find((r) => r.table === 'user')).toMatchObject({ atSnapshot: 1, beforeRestore: 1 });
  expect(rows.find((r) => r.table === 'alembic_version')).toMatchObject({ atSnapshot: 2, beforeRestore: 2 });
  expect(report.adminCanAuthenticate).toBe(true);
  expect(report.earlyTokenValid).toBe(true);
  expect(report.others).toEqual({ compared: 4, changed: [] });
  // Not a rolling operation: every Keystone is stopped while the database goes back.
  expect(report.load!.errorWindowS).toBeLessThan(report.seconds);
  console.log(
    [
      ...reports.map(
        (r) =>
          `${r.step}: ${r.seconds.toFixed(1)} s, ${r.load?.failed ?? 0} of ${r.load?.requests ?? 0} requests failed`,
      ),
      `restore: requests failed for ${report.load!.errorWindowS.toFixed(1)} s (${report.load!.failures.join('; ')}); loss window ${report.restore!.lossWindow.from} .. ${report.restore!.lossWindow.to}`,
      `upgrade phases: ${step('upgrade')
        .migrations!.map((p) => `${p.stage} ${p.seconds.toFixed(1)} s`)
        .join(', ')}; restore load ${(report.restore!.durationMs / 1000).toFixed(1)} s`,
    ].join('\n'),
  );
});

// Issue 18, on the same cloud once the scenarios above ended (Keystone back on deb12u3, the record as
// the example's): its "deploy" finds every service as the record says and touches nothing.
describe('reconfigure: keystone.conf through the record, its rollback, a bad config', () => {
  let reports: ReconfigureReport[] = [];
  let wholeRun: LoadSummary | null = null;
  const step = (name: ReconfigureReport['step']) => {
    const found = reports.find((r) => r.step === name);
    if (!found) throw new Error(`no ${name} step ran: ${JSON.stringify(reports, null, 2)}`);
    return found;
  };

  beforeAll(async () => {
    ({ steps: reports, wholeRun } = await runKeystoneReconfigure({ client, docker, lab, author: 'jest' }));
    // One line per step, for the log: what the change cost the clients and what Keystone then said.
    console.log(
      reports
        .map(
          (r) =>
            `${r.step}: ${r.outcome} in ${r.seconds.toFixed(1)} s, ${r.keystone.replaced}/${r.keystone.running} keystone replaced, tokens ${[...new Set(r.tokenLifetimes)].join('/')} s` +
            (r.load ? `, load ${r.load.failed} failed of ${r.load.requests}` : ''),
        )
        .concat(wholeRun ? [`whole run: ${wholeRun.failed} failed of ${wholeRun.requests}`] : [])
        .join('\n'),
    );
    if (reports.some((r) => r.outcome !== RECONFIGURE_EXPECTED[r.step].outcome))
      console.error(worker.output().slice(-8000));
  });

  test('its deploy found the cloud as the record says: nothing replaced', () => {
    expect(step('deploy').keystone.replaced).toBe(0);
  });

  test("deploy: every Keystone runs the record's keystone.conf (password resolved), tokens live one hour", () => {
    const deploy = step('deploy');
    expect(deploy.outcome).toBe('applied');
    expect(deploy.keystone.running).toBe(3);
    expect(deploy.tokenSections).toEqual(
      Array(3).fill({ expiration: String(LIFETIME.before), provider: 'fernet' }),
    );
    expect(deploy.secretsResolved).toBe(true);
    for (const s of deploy.tokenLifetimes) expect(Math.abs(s - LIFETIME.before)).toBeLessThanOrEqual(2);
  });

  test.each(['reconfigure', 'rollback', 'bad-config'] as const)(
    '%s: expected outcome, the lifetime in every keystone.conf and in new tokens, zero failed requests, nothing else touched',
    (name) => {
      const report = step(name);
      const expected = RECONFIGURE_EXPECTED[name];
      expect({ outcome: report.outcome, reason: report.reason }).toMatchObject({ outcome: expected.outcome });
      expect(report.keystone.running).toBe(3);
      expect(report.tokenSections).toEqual(
        Array(3).fill({ expiration: String(expected.lifetime), provider: 'fernet' }),
      );
      expect(report.secretsResolved).toBe(true);
      expect(report.tokenLifetimes.length).toBeGreaterThan(0);
      for (const s of report.tokenLifetimes) expect(Math.abs(s - expected.lifetime)).toBeLessThanOrEqual(2);
      expect(report.load!.requests).toBeGreaterThan(20);
      expect({ failed: report.load!.failed, failures: report.load!.failures }).toEqual({
        failed: 0,
        failures: [],
      });
      // MariaDB, Glance, Placement and HAProxy: same container id and start time.
      expect(report.others!.compared).toBe(4);
      expect(report.others!.changed).toEqual([]);
      expect(report.earlyTokenValid).toBe(true);
    },
  );

  test('a config change and its rollback replace every Keystone container, one batch at a time', async () => {
    expect(step('reconfigure').keystone.replaced).toBe(3);
    expect(step('rollback').keystone.replaced).toBe(3);
    const reconfigured = await client.revision(lab.name, step('reconfigure').revision);
    expect(reconfigured?.outcome).toBe('applied');
  });

  test('the bad config is recorded as rolled back, with the reason the health gate saw; the rollback stays current', async () => {
    const bad = step('bad-config');
    expect(bad.reason).toMatch(/keystone/);
    const revision = await client.revision(lab.name, bad.revision);
    expect(revision?.outcome).toBe('rolled-back');
    const state = await client.requireCloud(lab.name);
    expect(state.current).toBe(step('rollback').revision);
  });

  test('no password is in any revision: the records hold the secret references', async () => {
    for (const r of reports) {
      const revision = JSON.stringify(await client.revision(lab.name, r.revision));
      expect(revision).toContain('{{ secret \\"env:OS_KEYSTONE_DB_PASSWORD\\" }}');
      for (const value of Object.values(lab.secretEnv)) expect(revision).not.toContain(value);
    }
  });

  test('one load ran from deploy to the end (tokens and /v3 through HAProxy): not one request failed', () => {
    expect(wholeRun!.requests).toBeGreaterThan(100);
    expect({ failed: wholeRun!.failed, failures: wholeRun!.failures }).toEqual({ failed: 0, failures: [] });
  });
});
