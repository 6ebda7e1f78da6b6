// End to end on real OpenStack (issue 18): Keystone reads the keystone.conf the record delivers. The
// sample cloud is deployed, then, under a token load through HAProxy, `[token] expiration` is
// changed through the record (an INI override merged into the file), rolled back with `rollback`,
// and a keystone.conf Keystone cannot load must roll back by itself. Every check is made on the real
// thing: the file inside each Keystone container, the expires_at of tokens Keystone issues,
// container ids and start times, and every request of the load.
import { mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { PatchbayClient } from '../../src/client/patchbayClient';
import { temporalConfig } from '../../src/lib/config';
import { openstackLab } from '../../src/lab/openstackLab';
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

const QUEUE = 'openstack-reconfigure';
// Its own name, directory and ports (the example's + 4000): never the demo's or another test's cloud.
const root = mkdtempSync(path.join('/var/tmp', 'patchbay-reconf-'));
const lab = openstackLab({ name: 'os-reconf', root, portShift: 4000, keystoneBakeMs: 1_000 });
let worker: WorkerProcess;
let client: PatchbayClient;
let reports: ReconfigureReport[] = [];
let wholeRun: LoadSummary | null = null;

const step = (name: ReconfigureReport['step']) => {
  const found = reports.find((r) => r.step === name);
  if (!found) throw new Error(`no ${name} step ran: ${JSON.stringify(reports, null, 2)}`);
  return found;
};

beforeAll(async () => {
  await removeCloudContainers(lab.name);
  // The worker resolves the config files' secret references from its own environment.
  worker = await startWorker(QUEUE, lab.secretEnv);
  client = await PatchbayClient.connect(
    temporalConfig({ TEMPORAL_ADDRESS: testEnv('address'), PATCHBAY_TASK_QUEUE: QUEUE }),
  );
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

afterAll(async () => {
  await client?.close();
  await worker?.stop();
  await removeCloudContainers(lab.name);
  rmSync(root, { recursive: true, force: true });
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
