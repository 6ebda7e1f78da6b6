// End to end on real OpenStack (Debian's Keystone, Glance, Placement, MariaDB, HAProxy images):
// the sample cloud is deployed, then, under a token load through HAProxy, Keystone is patched to the
// security fix, reverted, and given a broken build that must roll back by itself. Every check is made
// on the real thing: dpkg-query inside each container, container ids and start times, Keystone's
// own answer on a token issued before the first patch, and every request of the load.
import { mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { PatchbayClient } from '../../src/client/patchbayClient';
import { temporalConfig } from '../../src/lib/config';
import { KEYSTONE, openstackLab } from '../../src/lab/openstackLab';
import { EXPECTED, runKeystoneScenarios, type ScenarioReport } from '../../src/lab/keystoneScenarios';
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
  ({ steps: reports, wholeRun } = await runKeystoneScenarios({ client, docker, lab, author: 'jest' }));
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

test('one load ran from deploy to the end (tokens and /v3 through HAProxy): not one request failed', () => {
  expect(wholeRun!.requests).toBeGreaterThan(100);
  expect({ failed: wholeRun!.failed, failures: wholeRun!.failures }).toEqual({ failed: 0, failures: [] });
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
  // The cloud's current revision is still the reverted one, running deb12u3.
  expect(state.current).toBe(step('revert').revision);
});
