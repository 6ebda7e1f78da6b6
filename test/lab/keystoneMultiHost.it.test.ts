// Real Keystone across three hosts reached through agents (issue 15): MariaDB and HAProxy on h1,
// Keystone ×3 on h2 and h3 of the multi-host lab (a dockerd per network namespace), one agent per
// host inside its namespace. The central worker holds no secret: the agents resolve the record's
// references on their hosts. Under a token + /v3 load through HAProxy (across hosts, its Runtime
// API driven by h1's agent), Keystone is patched to the security fix: no request fails, MariaDB and
// HAProxy keep their containers, and a token issued before the patch still validates.
import { mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { PatchbayClient } from '../../src/client/patchbayClient';
import { temporalConfig } from '../../src/lib/config';
import {
  changedContainers,
  cloudSnapshot,
  debianPackageVersion,
  type ContainerSnapshot,
} from '../../src/lab/containers';
import { startLoad, summarise } from '../../src/lab/httpLoad';
import { issueToken, keystoneRequests, tokenIsValid, waitForKeystone } from '../../src/lab/keystone';
import { multiHostOpenstack, type MultiHostOpenstack } from '../../src/lab/multiHostOpenstack';
import { KEYSTONE, openstackLab } from '../../src/lab/openstackLab';
import { withImage } from '../../src/record/withImage';
import { dockerClient } from '../../src/runtime/dockerClient';
import { testEnv } from '../support/env';
import { FIXTURE_IMAGES } from '../support/fixtures';
import { startAgent, startWorker, type WorkerProcess } from '../support/harness';
import {
  execIn,
  forwardPort,
  LAB_GATEWAY,
  startLab,
  type LabHost,
  type PortForward,
} from '../support/multiHostLab';

jest.setTimeout(20 * 60_000);

const QUEUE = 'openstack-multihost';
const root = mkdtempSync(path.join('/var/tmp', 'patchbay-mh-'));
// Its own name, folder and ports (the example's + 2000): never the demo's or the other e2e test's.
const lab = openstackLab({ name: 'os-mh', root, portShift: 2000 });
let hosts: LabHost[];
let mh: MultiHostOpenstack;
let forward: PortForward;
let worker: WorkerProcess;
const agents: WorkerProcess[] = [];
let client: PatchbayClient;

const engines = () => hosts.map((h) => dockerClient(`unix://${h.socket}`));

/** Every container of the cloud on every host, by name (names carry the host: unique across hosts). */
async function everywhere(): Promise<Map<string, ContainerSnapshot>> {
  const out = new Map<string, ContainerSnapshot>();
  for (const docker of engines())
    for (const [name, c] of await cloudSnapshot(docker, lab.name)) out.set(name, c);
  return out;
}

/** The keystone package in every serving Keystone container, on whichever host. */
async function keystonePackages(): Promise<string[]> {
  const out: string[] = [];
  for (const docker of engines())
    for (const c of (await cloudSnapshot(docker, lab.name)).values())
      if (c.service === 'keystone' && c.running && !c.name.includes('--retired'))
        out.push(await debianPackageVersion(docker, c.id, 'keystone'));
  return out;
}

async function removeContainers(): Promise<void> {
  for (const docker of engines())
    for (const c of (await cloudSnapshot(docker, lab.name).catch(() => new Map())).values())
      await docker
        .getContainer(c.id)
        .remove({ force: true })
        .catch(() => undefined);
}

beforeAll(async () => {
  // The lab's engines get the OpenStack images too (copied once; kept between runs).
  const placeholder = multiHostOpenstack(lab, [
    { name: 'h1', address: '10.77.0.11', endpoint: 'unix:///x' },
    { name: 'h2', address: '10.77.0.12', endpoint: 'unix:///x' },
    { name: 'h3', address: '10.77.0.13', endpoint: 'unix:///x' },
  ]);
  hosts = await startLab(3, { images: [...FIXTURE_IMAGES, ...placeholder.images, KEYSTONE.fixed] });
  mh = multiHostOpenstack(
    lab,
    hosts.map((h) => ({ name: h.name, address: h.address, endpoint: `unix://${h.socket}` })),
  );
  await removeContainers();
  const [, port] = testEnv('address').split(':');
  forward = await forwardPort(LAB_GATEWAY, 0, '127.0.0.1', Number(port));
  // No OS_* secret here: only the agents, on their hosts, can resolve the record's references.
  worker = await startWorker(QUEUE);
  for (const h of hosts)
    agents.push(
      await startAgent(lab.name, h.name, {
        env: { TEMPORAL_ADDRESS: `${LAB_GATEWAY}:${forward.port}`, ...mh.secretEnv },
        spawnWith: (argv, env) => execIn(h, argv[0]!, argv.slice(1), { env }),
      }),
    );
  client = await PatchbayClient.connect(
    temporalConfig({ TEMPORAL_ADDRESS: testEnv('address'), PATCHBAY_TASK_QUEUE: QUEUE }),
  );
}, 15 * 60_000);

afterAll(async () => {
  await client?.close();
  for (const a of agents) await a.stop();
  await worker?.stop();
  await forward?.();
  if (hosts) await removeContainers();
  rmSync(root, { recursive: true, force: true });
});

test('deploy across three hosts, then patch Keystone under load: zero failed requests, nothing else touched', async () => {
  const deployed = await client.waitForChange(
    lab.name,
    await client.apply(mh.record, { message: 'deploy across three hosts', author: 'jest' }),
  );
  expect({ outcome: deployed.outcome, reason: deployed.reason }).toEqual({
    outcome: 'applied',
    reason: undefined,
  });
  // Each container on the engine of the host the record places it on.
  const placed: string[] = [];
  for (const [i, docker] of engines().entries())
    for (const name of (await cloudSnapshot(docker, lab.name)).keys())
      placed.push(`${hosts[i]!.name}/${name.replace(`pb-${lab.name}-`, '')}`);
  expect(placed.sort()).toEqual([
    expect.stringMatching(/^h1\/haproxy-h1-/),
    expect.stringMatching(/^h1\/mariadb-h1-/),
    expect.stringMatching(/^h2\/keystone-h2-/),
    expect.stringMatching(/^h2\/keystone-h2-/),
    expect.stringMatching(/^h3\/keystone-h3-/),
  ]);
  await waitForKeystone(mh.keystoneUrl, 120_000);
  const earlyToken = await issueToken(mh.keystoneUrl, lab.adminPassword);
  expect(await keystonePackages()).toEqual(Array(3).fill(KEYSTONE.oldPackage));

  const before = await everywhere();
  const load = startLoad({
    baseUrl: mh.keystoneUrl,
    concurrency: 4,
    request: keystoneRequests(lab.adminPassword),
    maxRequests: 200_000,
    maxMs: 10 * 60_000,
  });
  const patched = await client.waitForChange(
    lab.name,
    await client.apply(withImage(mh.record, 'keystone', KEYSTONE.fixed), {
      message: 'Keystone security fix across hosts',
      author: 'jest',
    }),
  );
  await load.stop();
  const seen = summarise(load.samples);
  expect({ outcome: patched.outcome, reason: patched.reason }).toEqual({
    outcome: 'applied',
    reason: undefined,
  });
  expect(seen.requests).toBeGreaterThan(20);
  expect({ failed: seen.failed, failures: seen.failures }).toEqual({ failed: 0, failures: [] });
  expect(await keystonePackages()).toEqual(Array(3).fill(KEYSTONE.fixedPackage));
  const others = changedContainers(before, await everywhere(), ['mariadb', 'haproxy']);
  expect(others).toEqual({ compared: 2, changed: [] });
  expect(await tokenIsValid(mh.keystoneUrl, lab.adminPassword, earlyToken)).toBe(true);
  console.log(
    `keystone across 3 hosts: patch ${patched.services.find((s) => s.service === 'keystone')?.status}, ` +
      `${seen.requests} requests, ${seen.failed} failed`,
  );
});
