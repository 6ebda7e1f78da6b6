// End to end: a Keystone CVE across a fleet of 3 real OpenStack clouds (src/lab/fleet.ts: MariaDB,
// Keystone x2, HAProxy each; two on the vulnerable build, the last already on the fix), the way an
// operator answers it (src/lab/fleetScenario.ts): the inventory finds the vulnerable clouds, the
// scripted launcher (examples/launch-campaign.ts, on the `patchbay` library) starts a campaign over
// exactly those, canary first, the rest after an approval sent with the `temporal` CLI; then a broken
// build halts at its canary. A token + /v3 load runs through every cloud's HAProxy the whole time.
import { mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { CampaignClient } from '../../src/client/campaignClient';
import { PatchbayClient } from '../../src/client/patchbayClient';
import { TEMPORAL_BIN, temporalConfig } from '../../src/lib/config';
import { deployFleet, fleetClouds, fleetSecretEnv, type FleetDeployment } from '../../src/lab/fleet';
import {
  fleetVerdict,
  runFleetScenario,
  type FleetCampaignReport,
  type FleetScenarioReport,
} from '../../src/lab/fleetScenario';
import { describeFleetRun } from '../../src/client/fleetDemo';
import { KEYSTONE } from '../../src/lab/openstackLab';
import { AuditStore } from '../../src/store/auditStore';
import { CAMPAIGN_ID, OUTCOME } from '../../src/workflows/searchAttributes';
import { expectCampaignInWebUi } from '../support/campaignInWebUi';
import { testEnv } from '../support/env';
import { baseEnv, docker, removeCloudContainers, startWorker, type WorkerProcess } from '../support/harness';

jest.setTimeout(15 * 60_000);

const QUEUE = 'fleet-e2e';
const root = mkdtempSync(path.join('/var/tmp', 'patchbay-fleet-e2e-'));
// Its own names and ports (26000.., the demo's fleet is on 22000..): never the demo's clouds.
const clouds = fleetClouds({ count: 3, prefix: 'fit-', root, portBase: 11000, keystoneBake: '1s' });
const names = clouds.map((c) => c.name);
const [canary, second, alreadyFixed] = names as [string, string, string];
let worker: WorkerProcess;
let client: PatchbayClient;
let deployed: FleetDeployment[] = [];
let report: FleetScenarioReport;

/**
 * For the Web UI check (issue 19, item 4; test/support/campaignInWebUi.ts takes these fields): each
 * campaign's id, the clouds it launched (each has a workflow campaign:<id>:<cloud>, see
 * cloudWorkflowIds in the report) and those that rolled back. Filled once the scenario ran.
 */
const webUiTargets: Array<{ campaignId: string; clouds: string[]; rolledBack: string[] }> = [];

const first = (): FleetCampaignReport => report.first!;
const broken = (): FleetCampaignReport => report.second!;

beforeAll(async () => {
  for (const c of names) await removeCloudContainers(c);
  // One worker resolves every cloud's secrets: each cloud's env: references carry its name.
  worker = await startWorker(QUEUE, fleetSecretEnv(clouds));
  const config = temporalConfig({ TEMPORAL_ADDRESS: testEnv('address'), PATCHBAY_TASK_QUEUE: QUEUE });
  client = await PatchbayClient.connect(config);
  deployed = await deployFleet(client, clouds, { author: 'jest' });
  if (deployed.some((d) => d.outcome !== 'applied')) {
    console.error(worker.output().slice(-8000));
    throw new Error(`deploy failed: ${JSON.stringify(deployed)}`);
  }
  report = await runFleetScenario({
    client,
    campaigns: new CampaignClient(client),
    docker,
    clouds,
    launcherEnv: baseEnv(QUEUE),
    temporalCli: { binary: TEMPORAL_BIN, address: testEnv('address'), namespace: config.namespace },
    campaignPrefix: `fit-${process.pid % 10_000}`,
    bake: '2s',
  });
  for (const c of [report.first, report.second])
    if (c)
      webUiTargets.push({
        campaignId: c.id,
        clouds: c.selected.filter((x) => c.statuses[x] !== 'not-started'),
        rolledBack: c.selected.filter((x) => c.statuses[x] === 'rolled-back'),
      });
  console.log(describeFleetRun(report));
  const problems = fleetVerdict(report);
  if (problems.length) console.error(`${problems.join('\n')}\n${worker.output().slice(-8000)}`);
});

afterAll(async () => {
  await client?.close();
  await worker?.stop();
  for (const c of names) await removeCloudContainers(c);
  rmSync(root, { recursive: true, force: true });
});

test('the fleet: 3 clouds labelled region/tier; the inventory groups them by the Keystone they run', async () => {
  expect(deployed.map((d) => d.outcome)).toEqual(['applied', 'applied', 'applied']);
  const labels = Object.fromEntries(
    (await client.inventory.clouds({ labels: { fleet: 'keystone' } }))
      .filter((c) => names.includes(c.name))
      .map((c) => [c.name, c.labels]),
  );
  expect(labels).toEqual({
    [canary]: { fleet: 'keystone', region: 'ap-south', tier: 'staging' },
    [second]: { fleet: 'keystone', region: 'eu-west', tier: 'prod' },
    [alreadyFixed]: { fleet: 'keystone', region: 'us-east', tier: 'prod' },
  });
  const byImage = Object.fromEntries(
    report.inventoryBefore.images.map((i) => [i.image, i.clouds.filter((c) => names.includes(c))]),
  );
  expect(byImage[KEYSTONE.old]).toEqual([canary, second]);
  expect(byImage[KEYSTONE.fixed]).toEqual([alreadyFixed]);
  // What each Keystone container really runs (dpkg-query inside it): two per cloud.
  for (const c of [canary, second])
    expect(Object.values(report.packagesBefore[c]!)).toEqual([KEYSTONE.oldPackage, KEYSTONE.oldPackage]);
  expect(Object.values(report.packagesBefore[alreadyFixed]!)).toEqual([
    KEYSTONE.fixedPackage,
    KEYSTONE.fixedPackage,
  ]);
});

test('campaign 1 patches exactly the vulnerable clouds, canary first, the rest after an approval from the temporal CLI', async () => {
  const c = first();
  expect(c.selected).toEqual([canary, second]);
  expect(c.phase).toBe('completed');
  expect(c.statuses).toEqual({ [canary]: 'patched', [second]: 'patched' });
  expect(c.cloudWorkflowIds).toEqual({
    [canary]: `campaign:${c.id}:${canary}`,
    [second]: `campaign:${c.id}:${second}`,
  });
  // The approval went through the documented update, sent by the temporal CLI, and is in the audit log.
  expect(c.approval).toMatchObject({ wave: 2 });
  expect(c.approval!.command).toMatch(
    /^temporal workflow update execute --workflow-id campaign:\S+ --name patchbay\.campaign\.approve /,
  );
  const audit = await new AuditStore(client.storeDb()).list('campaign', c.id);
  expect(audit).toEqual(
    expect.arrayContaining([expect.objectContaining({ action: 'approve', actor: 'change-board' })]),
  );
  // One revision per patched cloud, authored by the campaign; none on the cloud already fixed.
  expect(Object.keys(c.patchSeconds).sort()).toEqual([canary, second]);
});

test('after campaign 1: every cloud on deb12u6 in every Keystone container, nothing else touched, 0 failed requests', () => {
  const c = first();
  const after = Object.fromEntries(
    report.inventoryAfter!.images.map((i) => [i.image, i.clouds.filter((x) => names.includes(x))]),
  );
  expect(after).toEqual({ [KEYSTONE.fixed]: names });
  for (const cloud of names)
    expect(Object.values(c.keystonePackages[cloud]!)).toEqual([KEYSTONE.fixedPackage, KEYSTONE.fixedPackage]);
  // MariaDB and HAProxy of the patched clouds, every container of the cloud left out: same id and start time.
  expect(c.untouched[canary]).toMatchObject({ compared: 2, changed: [] });
  expect(c.untouched[second]).toMatchObject({ compared: 2, changed: [] });
  expect(c.untouched[alreadyFixed]!.compared).toBeGreaterThanOrEqual(4);
  expect(c.untouched[alreadyFixed]!.changed).toEqual([]);
  for (const cloud of names) {
    expect(c.load[cloud]!.requests).toBeGreaterThan(20);
    expect({ cloud, failed: c.load[cloud]!.failed, failures: c.load[cloud]!.failures }).toEqual({
      cloud,
      failed: 0,
      failures: [],
    });
  }
});

test('campaign 2 (broken build): the canary rolls back by itself within seconds, the budget halts the campaign, no other cloud is touched, 0 failed requests', async () => {
  const c = broken();
  expect(c.selected).toEqual(names);
  expect(c.phase).toBe('halted');
  expect(c.statuses).toEqual({
    [canary]: 'rolled-back',
    [second]: 'not-started',
    [alreadyFixed]: 'not-started',
  });
  expect(Object.keys(c.patchSeconds)).toEqual([canary]);
  const revision = await client.revision(canary, (await client.requireCloud(canary)).last);
  expect(revision.outcome).toBe('rolled-back');
  expect(revision.reason).toMatch(/500/);
  // Back on the fix everywhere; the canary's MariaDB and HAProxy and every container elsewhere untouched.
  for (const cloud of names)
    expect(Object.values(c.keystonePackages[cloud]!)).toEqual([KEYSTONE.fixedPackage, KEYSTONE.fixedPackage]);
  expect(c.untouched[canary]).toMatchObject({ compared: 2, changed: [] });
  for (const cloud of [second, alreadyFixed]) {
    expect(c.untouched[cloud]!.compared).toBeGreaterThanOrEqual(4);
    expect(c.untouched[cloud]!.changed).toEqual([]);
  }
  // The gate's failure threshold: the broken instance is out of service for seconds, not the gate's 180 s.
  const outage = Math.max(...c.outOfService[canary]!.map((o) => o.seconds));
  expect(outage).toBeGreaterThan(0);
  expect(outage).toBeLessThan(90);
  for (const cloud of [second, alreadyFixed])
    expect(c.outOfService[cloud]!.every((o) => o.seconds === 0)).toBe(true);
  for (const cloud of names)
    expect({ cloud, failed: c.load[cloud]!.failed, failures: c.load[cloud]!.failures }).toEqual({
      cloud,
      failed: 0,
      failures: [],
    });
});

test("every cloud a campaign launched is a workflow found by the campaign's id, carrying how it ended (Outcome)", async () => {
  for (const c of [first(), broken()])
    for (const cloud of c.selected.filter((x) => c.statuses[x] !== 'not-started')) {
      const described = await client.client.workflow.getHandle(c.cloudWorkflowIds[cloud]!).describe();
      expect({
        cloud,
        campaign: described.typedSearchAttributes.get(CAMPAIGN_ID),
        outcome: described.typedSearchAttributes.get(OUTCOME),
      }).toEqual({ cloud, campaign: c.id, outcome: c.statuses[cloud] });
    }
});

test('the Web UI lists every cloud of each campaign by its id, and Outcome = "rolled-back" finds exactly the canary (screenshots, read from the DOM)', async () => {
  expect(webUiTargets.map((t) => t.rolledBack)).toEqual([[], [canary]]);
  for (const target of webUiTargets) await expectCampaignInWebUi(target);
});

test('one load per cloud ran through both campaigns: not one request failed on any cloud', () => {
  for (const cloud of names) {
    const whole = report.wholeRun[cloud]!;
    expect(whole.requests).toBeGreaterThan(50);
    expect({ cloud, failed: whole.failed, failures: whole.failures }).toEqual({
      cloud,
      failed: 0,
      failures: [],
    });
  }
  expect(fleetVerdict(report)).toEqual([]);
});
