// npm run bench:reconfigure — the same configuration change of real Keystone ×3 behind HAProxy
// (examples/openstack.yaml under its own name and ports: `[token] expiration` 3600 → 7200 s in
// keystone.conf), under the same token + /v3 load, done (a) by Patchbay (the record's file changed:
// drain → replace with the new file → health gate → ready → bake, one instance at a time) and (b) as
// `kolla-ansible reconfigure` does it: the new file put into every Keystone container, then all three
// restarted at once, then wait for /v3. Between the two Patchbay puts the old file back (not
// measured). Prints failed requests, the error window, p50/p99 latency and the duration of each, and
// checks that new tokens carry the new lifetime after each.
import { rmSync } from 'node:fs';
import type Docker from 'dockerode';
import type { PatchbayClient } from '../src/client/patchbayClient';
import { renderConfigFiles } from '../src/record/configFiles';
import type { CloudRecord } from '../src/record/schema';
import { configArchive, resolveConfigFiles } from '../src/runtime/configDelivery';
import { dockerClient } from '../src/runtime/dockerClient';
import { probeHttp } from '../src/runtime/httpProbe';
import { listCloudContainers } from '../src/runtime/observe';
import { startLoad, summarise, type LoadSummary } from '../src/lab/httpLoad';
import { keystoneRequests, tokenLifetimeSeconds, waitForKeystone } from '../src/lab/keystone';
import { KEYSTONE_CONF, LIFETIME, OVERRIDES, withConfigOverride } from '../src/lab/keystoneReconfigure';
import { openstackLab, type Lab } from '../src/lab/openstackLab';
import { removeCloud, startBenchStack } from './stack';

const docker: Docker = dockerClient('unix:///var/run/docker.sock');
const CONCURRENCY = 4;
const PATCHBAY = 'Patchbay (one at a time, gated)';
const RESTART_ALL = 'restart all at once (kolla-style)';
const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Result extends LoadSummary {
  way: string;
  /** From the start of the change to every Keystone serving again (Patchbay: the change's end). */
  durationS: number;
  /** Lifetimes of 6 tokens issued right after (s). */
  lifetimes: number[];
}

/** (b): every running Keystone gets the record's new files in place, then all are restarted at once. */
async function restartAll(lab: Lab, record: CloudRecord): Promise<void> {
  const service = record.spec.services.find((s) => s.name === 'keystone');
  if (!service) throw new Error('no keystone in the record');
  // The worker's rendering (jobs share the files: only {{service}}), secrets resolved from this process.
  const archive = await configArchive(
    resolveConfigFiles(renderConfigFiles(service, { service: 'keystone' })),
  );
  const keystone = (await listCloudContainers(docker, lab.name, 'keystone')).filter((c) => c.running);
  const ports: number[] = [];
  await Promise.all(
    keystone.map(async (c) => {
      const info = await docker.getContainer(c.id).inspect();
      ports.push(Number(info.Config.Env.find((e) => e.startsWith('KEYSTONE_PORT='))?.split('=')[1]));
      await docker.getContainer(c.id).putArchive(archive, { path: '/' });
      await docker.getContainer(c.id).restart({ t: Math.ceil(service.stopGracePeriod / 1000) });
    }),
  );
  for (const port of ports) {
    while ((await probeHttp(`http://127.0.0.1:${port}/v3`, 2_000)).status !== 200) await settle(250);
  }
}

async function lifetimes(lab: Lab): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < 6; i++) out.push(await tokenLifetimeSeconds(lab.keystoneUrl, lab.adminPassword));
  return out;
}

async function run(client: PatchbayClient, lab: Lab): Promise<Result[]> {
  const results: Result[] = [];
  const apply = async (r: CloudRecord, message: string) => {
    const result = await client.waitForChange(lab.name, await client.apply(r, { message, author: 'bench' }));
    if (result.outcome !== 'applied') throw new Error(`${message}: ${result.outcome} ${result.reason}`);
  };
  const base = lab.record;
  const reconfigured = withConfigOverride(base, 'keystone', KEYSTONE_CONF, OVERRIDES.reconfigure);
  await apply(base, 'deploy');
  await waitForKeystone(lab.keystoneUrl, 180_000);
  const load = startLoad({
    baseUrl: lab.keystoneUrl,
    concurrency: CONCURRENCY,
    request: keystoneRequests(lab.adminPassword),
    maxRequests: 500_000,
    maxMs: 30 * 60_000,
  });
  const measure = async (way: string, change: () => Promise<void>) => {
    await settle(3_000);
    const t0 = Date.now();
    await change();
    const t1 = Date.now();
    // What the clients see until HAProxy has caught up counts too.
    await settle(3_000);
    results.push({
      way,
      ...summarise(load.samples, t0, Date.now()),
      durationS: (t1 - t0) / 1000,
      lifetimes: await lifetimes(lab),
    });
  };
  try {
    await measure(PATCHBAY, () => apply(reconfigured, `keystone.conf: expiration ${LIFETIME.after}`));
    await apply(base, `keystone.conf: expiration ${LIFETIME.before} again`);
    await settle(3_000);
    if ((await lifetimes(lab)).some((s) => Math.abs(s - LIFETIME.before) > 2))
      throw new Error('the old lifetime did not come back');
    await measure(RESTART_ALL, () => restartAll(lab, reconfigured));
  } finally {
    await load.stop();
  }
  return results;
}

async function main(): Promise<void> {
  const lab = openstackLab({ name: 'os-bench-rc', root: '/var/tmp/patchbay-bench-reconf', portShift: 5000 });
  // The bench's worker runs in this process: it resolves the record's secret references from here.
  Object.assign(process.env, lab.secretEnv);
  await removeCloud(docker, lab.name);
  const stack = await startBenchStack(17944, 'bench-reconf');
  let results: Result[];
  try {
    results = await run(stack.client, lab);
  } finally {
    await stack.stop();
    await removeCloud(docker, lab.name);
    rmSync(lab.root, { recursive: true, force: true });
  }
  console.log(
    `a reconfigure of Keystone x3 behind HAProxy 2.6 ([token] expiration ${LIFETIME.before} -> ${LIFETIME.after} s in keystone.conf), in one run,`,
  );
  console.log(`  under ${CONCURRENCY} clients (half POST /v3/auth/tokens, half GET /v3, no keep-alive):`);
  for (const r of results) {
    const ok = r.lifetimes.every((s) => Math.abs(s - LIFETIME.after) <= 2);
    console.log(
      `  ${r.way.padEnd(36)} ${String(r.failed).padStart(5)} failed of ${String(r.requests).padStart(6)}  error window ${r.errorWindowS.toFixed(2)} s  p50 ${r.p50.toFixed(1)} ms  p99 ${r.p99.toFixed(1)} ms  duration ${r.durationS.toFixed(1)} s  new tokens ${ok ? `${LIFETIME.after} s` : `WRONG: ${r.lifetimes.join(', ')}`}`,
    );
  }
  const [p, k] = results;
  if (p && k)
    console.log(
      `  Patchbay / restart-all: failed ${p.failed} vs ${k.failed}; duration ${(p.durationS / k.durationS).toFixed(1)}x (${p.durationS.toFixed(1)} s vs ${k.durationS.toFixed(1)} s)`,
    );
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
