// npm run bench:zero-downtime — the same patch of a 3-instance service behind a real HAProxy, under
// the same bounded load, done (a) by Patchbay (drain → maint → replace → health gate → ready, one at a
// time) and (b) the naive way a script would (recreate every instance at once, then wait for health).
// Prints failed requests, the error window and p50/p99 latency during each change. Two services: the
// fixture (instant, and with a 2 s start) and real Keystone from Debian (examples/openstack.yaml).
// `-- --only fixtures|keystone` runs one of them.
import { rmSync } from 'node:fs';
import type Docker from 'dockerode';
import { renderConfigFiles } from '../src/record/configFiles';
import { CloudRecordSchema, type CloudRecord } from '../src/record/schema';
import { deliverConfigFiles, resolveConfigFiles } from '../src/runtime/configDelivery';
import { dockerClient } from '../src/runtime/dockerClient';
import { probeHttp } from '../src/runtime/httpProbe';
import { serverStat } from '../src/runtime/haproxy';
import { startFixtureHaproxy } from '../test/support/haproxy';
import { startBenchStack } from './stack';
import type { PatchbayClient } from '../src/client/patchbayClient';
import { KEYSTONE, openstackLab, type Lab } from '../src/lab/openstackLab';
import { withImage } from '../src/record/withImage';
import { keystoneRequests, waitForKeystone } from '../src/lab/keystone';
import { listCloudContainers } from '../src/runtime/observe';
import { startLoad, summarise, type Load, type LoadSummary } from '../src/lab/httpLoad';

const docker: Docker = dockerClient('unix:///var/run/docker.sock');
/** The Runtime API socket of the HAProxy that main() starts. */
let socket = '';
const FRONT = 18960;
const PORTS = [18961, 18962, 18963];
/** A version of the service: image plus settings (a new setting also replaces every instance). */
interface Version {
  image: string;
  env: Record<string, string>;
}
const SCENARIOS: Array<{ name: string; from: Version; to: Version }> = [
  {
    name: 'instant fixture',
    from: { image: 'patchbay/fixture:v1', env: {} },
    to: { image: 'patchbay/fixture:v2', env: {} },
  },
  {
    name: 'service needing 2 s to start',
    from: { image: 'patchbay/fixture:slow', env: { SLOW_START: '2', GEN: '1' } },
    to: { image: 'patchbay/fixture:slow', env: { SLOW_START: '2', GEN: '2' } },
  },
];
const CONCURRENCY = 8;

function record({ image, env }: Version): CloudRecord {
  return CloudRecordSchema.parse({
    apiVersion: 'patchbay/v1',
    kind: 'Cloud',
    metadata: { name: 'zd' },
    spec: {
      runtime: { docker: { hosts: [{ name: 'local' }] } },
      loadBalancers: [{ name: 'front', haproxy: { runtimeApi: `unix://${socket}`, drainTimeout: '10s' } }],
      services: [
        {
          name: 'api',
          image,
          instances: PORTS.map((port, i) => ({
            host: 'local',
            port,
            lb: { balancer: 'front', backend: 'api', server: `s${i + 1}` },
          })),
          env: { PORT: '{{port}}', ...env },
          health: { http: { path: '/health' }, timeout: '30s', interval: '200ms' },
          upgrade: { maxUnavailable: 1, bake: '0s' },
          stopGracePeriod: '2s',
        },
      ],
    },
  });
}

/** The fixture load: CONCURRENCY clients, GET /version, bounded to 5 minutes or 500k requests. */
function fixtureLoad(): Load {
  return startLoad({
    baseUrl: `http://127.0.0.1:${FRONT}`,
    concurrency: CONCURRENCY,
    request: () => ({ what: 'GET /version', method: 'GET', path: '/version', expect: [200] }),
    maxRequests: 500_000,
    maxMs: 300_000,
    timeoutMs: 5_000,
  });
}

async function waitAllUp(): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const states = await Promise.all(
      PORTS.map((_p, k) => serverStat(`unix://${socket}`, 'api', `s${k + 1}`)),
    );
    if (states.every((s) => s.status === 'UP')) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('HAProxy did not see every server UP');
}

/** (b) The naive way: recreate every instance at once, then wait for them to answer. */
async function naivePatch({ image, env }: Version): Promise<void> {
  await Promise.all(
    PORTS.map(async (port, i) => {
      const name = `pb-zd-api-local-${port}`;
      await docker
        .getContainer(name)
        .remove({ force: true })
        .catch(() => undefined);
      const c = await docker.createContainer({
        name,
        Image: image,
        Env: [`PORT=${port}`, ...Object.entries(env).map(([k, v]) => `${k}=${v}`)],
        Labels: { 'io.patchbay.cloud': 'zd', 'io.patchbay.bench': `naive-${i}` },
        HostConfig: { NetworkMode: 'host', Init: true },
      });
      await c.start();
    }),
  );
  for (const port of PORTS) {
    while ((await probeHttp(`http://127.0.0.1:${port}/health`, 1_000)).status !== 200)
      await new Promise((r) => setTimeout(r, 200));
  }
}

async function removeCloud(cloud: string): Promise<void> {
  for (const c of await docker.listContainers({
    all: true,
    filters: { label: [`io.patchbay.cloud=${cloud}`] },
  })) {
    await docker.getContainer(c.Id).remove({ force: true });
  }
}
const cleanup = () => removeCloud('zd');
const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));
const PATCHBAY = 'patchbay (drain, one at a time)';
const NAIVE = 'naive (recreate all at once)';
const KEYSTONE_CONCURRENCY = 4;

type Result = { scenario: string; way: string } & LoadSummary;

/** The fixture service (instant, and with a 2 s start) behind a host HAProxy. */
async function fixtureScenarios(client: PatchbayClient, results: Result[]): Promise<void> {
  const haproxy = startFixtureHaproxy(FRONT, PORTS);
  socket = haproxy.socket;
  try {
    for (const scenario of SCENARIOS) {
      await cleanup();
      const deploy = await client.apply(record(scenario.from), { message: 'deploy', author: 'bench' });
      await client.waitForChange('zd', deploy);
      await waitAllUp();
      const load = fixtureLoad();
      await settle(2_000); // steady state first

      let t0 = Date.now();
      const accepted = await client.apply(record(scenario.to), { message: 'patch', author: 'bench' });
      const result = await client.waitForChange('zd', accepted);
      if (result.outcome !== 'applied') throw new Error(`patchbay patch: ${result.outcome} ${result.reason}`);
      let t1 = Date.now();
      await waitAllUp();
      await settle(6_000); // requests started during the change finish (5 s timeout)
      results.push({ scenario: scenario.name, way: PATCHBAY, ...summarise(load.samples, t0, t1) });

      t0 = Date.now();
      await naivePatch(scenario.from);
      await waitAllUp();
      t1 = Date.now();
      await settle(6_000);
      await load.stop();
      results.push({ scenario: scenario.name, way: NAIVE, ...summarise(load.samples, t0, t1) });
    }
  } finally {
    haproxy.stop();
    await cleanup();
  }
}

/**
 * Real Keystone (examples/openstack.yaml under its own name and ports): deb12u3 → deb12u6 by
 * Patchbay, back to deb12u3 by Patchbay (not measured), then deb12u3 → deb12u6 the naive way:
 * every Keystone container removed and recreated from its own configuration with the new image,
 * all at once, as a script would. Same token + /v3 load through the cloud's HAProxy throughout.
 */
async function keystoneScenario(client: PatchbayClient, lab: Lab, results: Result[]): Promise<void> {
  const scenario = 'Keystone deb12u3 -> deb12u6';
  const apply = async (r: CloudRecord, message: string) => {
    const result = await client.waitForChange(lab.name, await client.apply(r, { message, author: 'bench' }));
    if (result.outcome !== 'applied') throw new Error(`${message}: ${result.outcome} ${result.reason}`);
  };
  await apply(lab.record, 'deploy');
  await waitForKeystone(lab.keystoneUrl, 180_000);
  const load = startLoad({
    baseUrl: lab.keystoneUrl,
    concurrency: KEYSTONE_CONCURRENCY,
    request: keystoneRequests(lab.adminPassword),
    maxRequests: 200_000,
    maxMs: 20 * 60_000,
  });
  try {
    await settle(3_000);
    let t0 = Date.now();
    await apply(withImage(lab.record, 'keystone', KEYSTONE.fixed), 'patch');
    let t1 = Date.now();
    await settle(3_000);
    results.push({ scenario, way: PATCHBAY, ...summarise(load.samples, t0, t1) });

    await apply(lab.record, 'back to deb12u3');
    await settle(3_000);
    t0 = Date.now();
    await naiveRecreate(lab, KEYSTONE.fixed);
    t1 = Date.now();
    await settle(3_000);
    results.push({ scenario, way: NAIVE, ...summarise(load.samples, t0, t1) });
  } finally {
    await load.stop();
  }
}

/**
 * (b) for Keystone: remove and recreate every instance at once with the new image (and the record's
 * config files, as Patchbay delivers them), then wait for /v3.
 */
async function naiveRecreate(lab: Lab, image: string): Promise<void> {
  const service = lab.record.spec.services.find((s) => s.name === 'keystone');
  if (!service) throw new Error('no keystone in the record');
  const files = resolveConfigFiles(renderConfigFiles(service, { service: 'keystone' }));
  const keystone = (await listCloudContainers(docker, lab.name, 'keystone')).filter((c) => c.running);
  const ports: number[] = [];
  await Promise.all(
    keystone.map(async (c) => {
      const info = await docker.getContainer(c.id).inspect();
      ports.push(Number(info.Config.Env.find((e) => e.startsWith('KEYSTONE_PORT='))?.split('=')[1]));
      await docker.getContainer(c.id).remove({ force: true });
      const created = await docker.createContainer({
        name: info.Name.replace(/^\//, ''),
        Image: image,
        Env: info.Config.Env.filter((e) => !e.startsWith('KEYSTONE_BREAK=')),
        Cmd: info.Config.Cmd,
        Labels: info.Config.Labels,
        HostConfig: info.HostConfig,
      });
      await deliverConfigFiles(docker, created.id, files);
      await created.start();
    }),
  );
  for (const port of ports) {
    while ((await probeHttp(`http://127.0.0.1:${port}/v3`, 2_000)).status !== 200) await settle(500);
  }
}

async function main(): Promise<void> {
  const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;
  const lab = openstackLab({ name: 'os-bench', root: '/var/tmp/patchbay-bench-os', portShift: 2000 });
  // The bench's worker runs in this process: it resolves the record's env: references from here.
  Object.assign(process.env, lab.secretEnv);
  await cleanup();
  await removeCloud(lab.name);
  const stack = await startBenchStack(17934, 'bench-zd');
  const results: Result[] = [];
  try {
    if (only !== 'keystone') await fixtureScenarios(stack.client, results);
    if (only !== 'fixtures') await keystoneScenario(stack.client, lab, results);
  } finally {
    await stack.stop();
    await removeCloud(lab.name);
    rmSync(lab.root, { recursive: true, force: true });
  }
  console.log('a patch of 3 instances behind HAProxy 2.6 under a bounded load (no keep-alive), in one run:');
  console.log(
    `  fixtures: ${CONCURRENCY} clients GET /version; Keystone: ${KEYSTONE_CONCURRENCY} clients, half POST /v3/auth/tokens, half GET /v3`,
  );
  for (const r of results) {
    console.log(
      `  ${r.scenario.padEnd(30)} ${r.way.padEnd(32)} ${String(r.failed).padStart(6)} failed of ${String(r.requests).padStart(6)}  error window ${r.errorWindowS.toFixed(2)} s  p50 ${r.p50.toFixed(1)} ms  p99 ${r.p99.toFixed(1)} ms  (${r.seconds.toFixed(1)} s)`,
    );
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
