// npm run bench:campaign — fleet campaigns, measured.
//   (a) real: N clouds (default 50) x 2 instances of the fixture service on the local Docker engine,
//       concurrency 10: clouds patched per minute and the campaign's wall time beside the sum of the
//       per-cloud patch times (what one-after-another would take).
//   (c) real OpenStack: N real clouds (src/lab/fleet.ts: MariaDB, Keystone x2, HAProxy each; default
//       3) patched from the vulnerable Keystone to the fix by one campaign (canary, then the rest at
//       once) under a token + /v3 load through every cloud's HAProxy: the campaign's wall time beside
//       the sum of the per-cloud patch times, and failed requests per cloud.
//   (b) engine only: the same workflows with an in-process fake runtime (no containers), 1,000 and
//       10,000 clouds: clouds per second, peak memory of the process (worker + client), and the
//       largest history (events) of any workflow.
// Args: --real N (0 skips), --openstack N (0 skips), --engine 1000,10000 (empty skips),
// --concurrency N (engine).
import { rmSync } from 'node:fs';
import type Docker from 'dockerode';
import { CampaignSpecSchema } from '../src/campaign/spec';
import { CampaignClient } from '../src/client/campaignClient';
import type { PatchbayClient } from '../src/client/patchbayClient';
import { CloudRecordSchema, type CloudRecord } from '../src/record/schema';
import { dockerClient } from '../src/runtime/dockerClient';
import { openDb } from '../src/store/db';
import type { CampaignProgress } from '../src/workflows/campaignTypes';
import { createFakeRuntimeActivities } from '../test/support/fakeRuntime';
import { TEMPORAL_BIN } from '../src/lib/config';
import { deployFleet, fleetClouds, fleetSecretEnv } from '../src/lab/fleet';
import { runFleetScenario } from '../src/lab/fleetScenario';
import { startBenchStack } from './stack';
import { diagnoseStall, type StallContext } from './stallDiagnostics';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? (process.argv[i + 1] ?? fallback) : fallback;
};
const REAL = Number(arg('real', '50'));
const OPENSTACK = Number(arg('openstack', '3'));
const ENGINE = arg('engine', '1000,10000').split(',').filter(Boolean).map(Number);
const ENGINE_CONCURRENCY = Number(arg('concurrency', '100'));
const docker: Docker = dockerClient('unix:///var/run/docker.sock');
const STALL_MS = Number(arg('stall-minutes', '5')) * 60_000;
const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

function record(cloud: string, image: string, ports: number[]): CloudRecord {
  return CloudRecordSchema.parse({
    apiVersion: 'patchbay/v1',
    kind: 'Cloud',
    metadata: { name: cloud, labels: { fleet: 'bench' } },
    spec: {
      runtime: { docker: { hosts: [{ name: 'local' }] } },
      services: [
        {
          name: 'api',
          image,
          instances: ports.map((port) => ({ host: 'local', port })),
          env: { PORT: '{{port}}' },
          health: { http: { path: '/health' }, timeout: '30s', interval: '100ms' },
          upgrade: { maxUnavailable: 1, bake: '0s' },
          stopGracePeriod: '2s',
        },
      ],
    },
  });
}

/** Applies every record, `parallel` at a time, and waits for each to be applied. */
async function deployAll(client: PatchbayClient, records: CloudRecord[], parallel: number): Promise<void> {
  let next = 0;
  let done = 0;
  // A 10,000-cloud deploy takes many minutes: a line every tenth so the run visibly moves.
  const step = Math.max(1, Math.ceil(records.length / 10));
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < records.length) {
        const r = records[next++]!;
        const result = await client.waitForChange(
          r.metadata.name,
          await client.apply(r, { message: 'deploy', author: 'bench' }),
        );
        if (result.outcome !== 'applied') throw new Error(`deploy ${r.metadata.name}: ${result.reason}`);
        if (++done % step === 0) console.error(`    deployed ${done}/${records.length}`);
      }
    }),
  );
}

async function runCampaign(
  client: PatchbayClient,
  stall: StallContext,
  name: string,
  clouds: string[],
  image: string,
  concurrency: number,
): Promise<{ seconds: number; progress: CampaignProgress; peakRss: number }> {
  const campaigns = new CampaignClient(client);
  const spec = CampaignSpecSchema.parse({
    apiVersion: 'patchbay/v1',
    kind: 'Campaign',
    metadata: { name },
    spec: {
      clouds: { names: clouds },
      service: 'api',
      image,
      waves: [{ size: 1 }, { size: '10%' }, { size: 'rest' }],
      concurrency,
    },
  });
  let peakRss = process.memoryUsage().rss;
  const t0 = Date.now();
  await campaigns.start(spec, 'bench');
  let progress: CampaignProgress | undefined;
  let lastLine = 0;
  // Bounded: a campaign whose totals stop moving for STALL_MS fails the bench with a diagnosis.
  let lastChange = Date.now();
  let lastTotals = '';
  for (;;) {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    try {
      progress = await campaigns.progress(name, { outcomes: 'none' });
    } catch (error) {
      console.error(`    progress query failed: ${(error as Error).message}`);
    }
    if (progress && ['completed', 'halted', 'aborted'].includes(progress.phase)) break;
    const totals = JSON.stringify(progress?.totals ?? null);
    if (totals !== lastTotals) [lastTotals, lastChange] = [totals, Date.now()];
    if (Date.now() - lastChange > STALL_MS) {
      const why = await diagnoseStall(stall);
      throw new Error(
        `campaign ${name} made no progress for ${STALL_MS / 60_000} min at ${totals}:\n  ${why.join('\n  ')}`,
      );
    }
    if (progress && Date.now() - lastLine > 30_000) {
      lastLine = Date.now();
      console.error(`    campaign ${progress.phase} ${JSON.stringify(progress.totals)}`);
    }
    await settle(500);
  }
  return { seconds: (Date.now() - t0) / 1000, progress: progress!, peakRss };
}

async function removeFleet(): Promise<void> {
  for (const c of await docker.listContainers({
    all: true,
    filters: { label: ['io.patchbay.bench-fleet=1'] },
  }))
    await docker.getContainer(c.Id).remove({ force: true });
  for (const c of await docker.listContainers({ all: true })) {
    if ((c.Labels['io.patchbay.cloud'] ?? '').startsWith('bfleet-'))
      await docker.getContainer(c.Id).remove({ force: true });
  }
}

async function real(n: number): Promise<void> {
  await removeFleet();
  const stack = await startBenchStack(17950, 'bench-campaign');
  try {
    const names = Array.from({ length: n }, (_, i) => `bfleet-${String(i + 1).padStart(3, '0')}`);
    const records = names.map((c, i) => record(c, 'patchbay/fixture:v1', [19000 + 2 * i, 19001 + 2 * i]));
    const t0 = Date.now();
    await deployAll(stack.client, records, 5);
    const deployS = (Date.now() - t0) / 1000;
    const { seconds, progress } = await runCampaign(
      stack.client,
      stack.stall,
      `bench-real-${Date.now()}`,
      names,
      'patchbay/fixture:v2',
      10,
    );
    // The time each cloud's own patch took (its revision, accepted -> finished), summed.
    const db = openDb(process.env.PATCHBAY_DATABASE_URL as string, { max: 1 });
    const [row] = await db.query<{ seconds: number | null }>(
      `SELECT sum(extract(epoch FROM finished_at - created_at))::float8 AS seconds FROM revisions
        WHERE cloud = ANY($1::text[]) AND author LIKE 'campaign:%'`,
      [names],
    );
    await db.close();
    const sum = row?.seconds ?? 0;
    console.log(
      `(a) real: ${n} clouds x 2 instances of the fixture service on the local Docker, concurrency 10 (deploy took ${deployS.toFixed(1)} s)`,
    );
    console.log(
      `    campaign ${seconds.toFixed(1)} s, ${((n / seconds) * 60).toFixed(1)} clouds/min, ${JSON.stringify(progress.totals)}; ` +
        `sum of per-cloud patch times ${sum.toFixed(1)} s -> ${(sum / seconds).toFixed(2)}x faster than one after another`,
    );
  } finally {
    await stack.stop();
    await removeFleet();
  }
}

async function removeOpenstackFleet(names: string[]): Promise<void> {
  for (const c of await docker.listContainers({ all: true }))
    if (names.includes(c.Labels['io.patchbay.cloud'] ?? ''))
      await docker.getContainer(c.Id).remove({ force: true });
}

async function openstack(n: number): Promise<void> {
  const root = '/var/tmp/patchbay-bench-fleet';
  // All on the vulnerable build: the campaign patches every one.
  const clouds = fleetClouds({ count: n, prefix: 'bos-', root, portBase: 13000, fixed: 0 });
  const names = clouds.map((c) => c.name);
  await removeOpenstackFleet(names);
  rmSync(root, { recursive: true, force: true });
  Object.assign(process.env, fleetSecretEnv(clouds));
  const queue = 'bench-campaign-os';
  const stack = await startBenchStack(17970, queue);
  try {
    const t0 = Date.now();
    const deployed = await deployFleet(stack.client, clouds, { author: 'bench' });
    const deployS = (Date.now() - t0) / 1000;
    const failed = deployed.filter((d) => d.outcome !== 'applied');
    if (failed.length) throw new Error(`deploy: ${failed.map((d) => `${d.cloud}: ${d.reason}`).join('; ')}`);
    const report = await runFleetScenario({
      client: stack.client,
      campaigns: new CampaignClient(stack.client),
      docker,
      clouds,
      launcherEnv: { ...process.env, TEMPORAL_ADDRESS: stack.address, PATCHBAY_TASK_QUEUE: queue },
      temporalCli: { binary: TEMPORAL_BIN, address: stack.address, namespace: 'default' },
      campaignPrefix: `bench-os-${Date.now().toString(36)}`,
      approval: false,
      bake: '0s',
      skipBroken: true,
      say: (line) => console.error(line.replace(/^/gm, '    ')),
    });
    const c = report.first!;
    const sum = Object.values(c.patchSeconds).reduce((a, b) => a + b, 0);
    const perCloud = names.map(
      (cloud) =>
        `${c.load[cloud]!.failed}/${c.load[cloud]!.requests}${c.load[cloud]!.failed ? ` (${cloud}: ${c.load[cloud]!.failures.join('; ')})` : ''}`,
    );
    console.log(
      `(c) real OpenStack: ${n} clouds (MariaDB, Keystone x2, HAProxy each), canary then the rest (concurrency 5), ` +
        `2 load clients per cloud (deploying them took ${deployS.toFixed(1)} s)`,
    );
    console.log(
      `    campaign ${c.seconds.toFixed(1)} s (its workflow ${c.workflowSeconds.toFixed(1)} s), ${c.phase}, ${JSON.stringify(Object.values(c.statuses).reduce<Record<string, number>>((m, st) => ({ ...m, [st]: (m[st] ?? 0) + 1 }), {}))}; ` +
        `sum of per-cloud patch times ${sum.toFixed(1)} s (${Object.values(c.patchSeconds)
          .map((x) => x.toFixed(1))
          .join(
            ', ',
          )}) -> ${(sum / c.workflowSeconds).toFixed(2)}x; failed/requests per cloud ${perCloud.join(', ')}`,
    );
  } finally {
    await stack.stop();
    await removeOpenstackFleet(names);
    rmSync(root, { recursive: true, force: true });
  }
}

async function engine(n: number): Promise<void> {
  const fake = createFakeRuntimeActivities();
  const stack = await startBenchStack(17960 + (n % 7), `bench-engine-${n}`, fake.activities);
  try {
    const names = Array.from({ length: n }, (_, i) => `efleet-${n}-${String(i + 1).padStart(5, '0')}`);
    const t0 = Date.now();
    await deployAll(
      stack.client,
      names.map((c) => record(c, 'patchbay/fixture:v1', [20000])),
      50,
    );
    const deployS = (Date.now() - t0) / 1000;
    const { seconds, progress, peakRss } = await runCampaign(
      stack.client,
      stack.stall,
      `bench-engine-${n}`,
      names,
      'patchbay/fixture:v2',
      ENGINE_CONCURRENCY,
    );
    // The outcomes are rows in the store (campaign_clouds): every cloud has one.
    const db = openDb(process.env.PATCHBAY_DATABASE_URL as string, { max: 1 });
    const [rows] = await db.query<{ n: string }>(
      `SELECT count(*) AS n FROM campaign_clouds WHERE campaign = $1 AND status = 'patched'`,
      [`bench-engine-${n}`],
    );
    await db.close();
    if (Number(rows?.n) !== n) throw new Error(`campaign_clouds has ${rows?.n} patched rows, not ${n}`);
    // What continue-as-new carried into the last run: one payload, which Temporal caps at 2 MB.
    const lastRun = await stack.client.client.workflow.getHandle(`campaign:bench-engine-${n}`).fetchHistory();
    const carried = (
      lastRun.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads ?? []
    ).reduce((sum, p) => sum + (p.data?.length ?? 0), 0);
    let largest = { id: '', events: 0 };
    for await (const wf of stack.client.client.workflow.list()) {
      if ((wf.historyLength ?? 0) > largest.events) largest = { id: wf.workflowId, events: wf.historyLength };
    }
    console.log(
      `(b) engine only (in-process fake runtime), ${n} clouds, concurrency ${ENGINE_CONCURRENCY} (deploying them took ${deployS.toFixed(1)} s, ${(n / deployS).toFixed(1)} clouds/s)`,
    );
    console.log(
      `    campaign ${seconds.toFixed(1)} s, ${(n / seconds).toFixed(1)} clouds/s, ${JSON.stringify(progress.totals)}, continued as new ${progress.runs}x; ` +
        `peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB; largest history ${largest.events} events (${largest.id}); ` +
        `last run's input ${(carried / 1024).toFixed(0)} KiB (limit 2,048 KiB)`,
    );
  } finally {
    await stack.stop();
  }
}

async function main(): Promise<void> {
  if (REAL > 0) await real(REAL);
  if (OPENSTACK > 0) await openstack(OPENSTACK);
  for (const n of ENGINE) await engine(n);
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
