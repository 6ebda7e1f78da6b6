// npm run bench:campaign — fleet campaigns, measured.
//   (a) real: N clouds (default 50) x 2 instances of the fixture service on the local Docker engine,
//       concurrency 10: clouds patched per minute and the campaign's wall time beside the sum of the
//       per-cloud patch times (what one-after-another would take).
//   (c) real OpenStack: N real clouds (src/lab/fleet.ts: MariaDB, Keystone x2, HAProxy each; default
//       3) patched from the vulnerable Keystone to the fix by one campaign (canary, then the rest at
//       once) under a token + /v3 load through every cloud's HAProxy: the campaign's wall time beside
//       the sum of the per-cloud patch times, and failed requests per cloud.
//   (b) engine only: the same workflows with an in-process fake runtime (no containers), 1,000 and
//       10,000 clouds, on the dev server and on a real Temporal cluster (scripts/temporal-cluster.sh:
//       PostgreSQL, four services, mTLS) one after the other: clouds per second, the ratio
//       cluster/dev, peak RSS of the worker (a child process of its own, bench/engineWorker.ts) and of
//       the bench's client, the largest history (events) of any workflow, the worker's schedule-to-start
//       and execution latencies (SDK metrics) and, on the cluster, its services' persistence latencies
//       (their Prometheus metrics) and PostgreSQL's counters.
// Args: --real N (0 skips), --openstack N (0 skips), --engine 1000,10000 (empty skips),
// --engines dev,cluster (default: both when the cluster is built), --concurrency N (engine),
// --worker-node-args "--max-old-space-size=…" (Node flags of the engine rows' worker process).
import { rmSync } from 'node:fs';
import type Docker from 'dockerode';
import { CampaignSpecSchema } from '../src/campaign/spec';
import { CampaignClient } from '../src/client/campaignClient';
import type { PatchbayClient } from '../src/client/patchbayClient';
import { CloudRecordSchema, type CloudRecord } from '../src/record/schema';
import { dockerClient } from '../src/runtime/dockerClient';
import { openDb } from '../src/store/db';
import type { CampaignProgress } from '../src/workflows/campaignTypes';
import { TEMPORAL_BIN } from '../src/lib/config';
import { deployFleet, fleetClouds, fleetSecretEnv } from '../src/lab/fleet';
import { runFleetScenario } from '../src/lab/fleetScenario';
import type { MemoryPeaks } from './engineWorker';
import { clusterBuilt, type Engine, type EngineKind } from './engines';
import {
  deltaBetween,
  meanBetween,
  scrape,
  scrapeHistograms,
  topHistograms,
  type Histograms,
} from './metrics';
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
// dev, cluster or both (default: both when scripts/temporal-cluster.sh is there and built).
const ENGINES = () =>
  arg('engines', clusterBuilt() ? 'dev,cluster' : 'dev')
    .split(',')
    .filter(Boolean)
    .map((k) => {
      if (k !== 'dev' && k !== 'cluster') throw new Error(`--engines: dev or cluster, not ${k}`);
      return k as EngineKind;
    });
// Node flags for the engine rows' worker process (it runs alone: bench/engineWorker.ts).
const WORKER_NODE_ARGS = arg('worker-node-args', process.env.BENCH_WORKER_NODE_ARGS ?? '')
  .split(' ')
  .filter(Boolean);
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
  every30s?: () => Promise<void>,
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
      await every30s?.();
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

interface EngineRow {
  kind: EngineKind;
  n: number;
  deployS: number;
  seconds: number;
  totals: string;
  runs: number;
  worker: { deploy?: MemoryPeaks; campaign?: MemoryPeaks; overall?: MemoryPeaks };
  clientRss: number;
  largest: { id: string; events: number };
  carried: number;
  latency: Record<string, { mean: number; count: number } | undefined>;
  counters: Record<string, number>;
}

const MiB = (bytes: number | undefined) =>
  bytes === undefined ? '?' : `${(bytes / 2 ** 20).toFixed(0)} MiB`;

/** SDK worker metrics a campaign phase is read from (core's Prometheus names; durations in ms). */
const WORKER_HISTOGRAMS = [
  'temporal_workflow_task_schedule_to_start_latency',
  'temporal_workflow_task_execution_latency',
  'temporal_workflow_task_replay_latency',
  'temporal_workflow_task_execution_failed',
  'temporal_activity_schedule_to_start_latency',
  'temporal_activity_execution_latency',
  'temporal_workflow_task_poll_latency',
  'temporal_request_latency',
];
const WORKER_COUNTERS = [
  'temporal_sticky_cache_hit',
  'temporal_sticky_cache_miss',
  'temporal_sticky_cache_total_forced_eviction',
  'temporal_workflow_task_queue_poll_empty',
  'temporal_workflow_task_queue_poll_succeed',
  'temporal_activity_task_received',
  'temporal_request',
  'temporal_request_failure',
];

async function engine(n: number, kind: EngineKind): Promise<EngineRow> {
  const port = 17960 + (n % 7);
  const metricsPort = 18460 + (n % 7);
  const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
  const stack = await startBenchStack(port, `bench-engine-${n}-${kind}`, undefined, {
    engine: kind,
    serverMetricsPort: 18470,
    workerProcess: { nodeArgs: WORKER_NODE_ARGS, metricsPort },
  });
  const worker: EngineRow['worker'] = {};
  let clientRss = process.memoryUsage().rss;
  const clientSampler = setInterval(() => (clientRss = Math.max(clientRss, process.memoryUsage().rss)), 500);
  const keep = (name: string) =>
    WORKER_COUNTERS.includes(name) ||
    WORKER_HISTOGRAMS.some((h) => name === `${h}_sum` || name === `${h}_count`);
  try {
    const names = Array.from({ length: n }, (_, i) => `efleet-${n}-${String(i + 1).padStart(5, '0')}`);
    const t0 = Date.now();
    await deployAll(
      stack.client,
      names.map((c) => record(c, 'patchbay/fixture:v1', [20000])),
      50,
    );
    const deployS = (Date.now() - t0) / 1000;
    worker.deploy = await stack.workerPeaks();
    console.error(
      `    ${kind}: deployed ${n} in ${deployS.toFixed(1)} s; worker peak RSS ${MiB(worker.deploy?.rss)}`,
    );
    if (process.env.BENCH_HEAP_SNAPSHOT_DIR) stack.workerHeapSnapshot();
    const before = await scrape(metricsUrl, keep).catch(() => new Map<string, number>());
    const serverBefore = await scrapeServer(stack.engine);
    const { seconds, progress } = await runCampaign(
      stack.client,
      stack.stall,
      `bench-engine-${n}`,
      names,
      'patchbay/fixture:v2',
      ENGINE_CONCURRENCY,
      async () => {
        const p = await stack.workerPeaks();
        if (p)
          console.error(
            `    ${kind}: worker RSS peak in the last 30 s ${MiB(p.rss)} (heap used ${MiB(p.heapUsed)})`,
          );
        if (p) worker.campaign = mergePeaks(worker.campaign, p);
      },
    );
    const after = await scrape(metricsUrl, keep).catch(() => new Map<string, number>());
    const serverAfter = await scrapeServer(stack.engine);
    const last = await stack.workerPeaks();
    if (last) worker.campaign = mergePeaks(worker.campaign, last);
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
    const latency = Object.fromEntries(WORKER_HISTOGRAMS.map((h) => [h, meanBetween(before, after, h)]));
    const counters = Object.fromEntries(WORKER_COUNTERS.map((c) => [c, deltaBetween(before, after, c)]));
    const row: EngineRow = {
      kind,
      n,
      deployS,
      seconds,
      totals: JSON.stringify(progress.totals),
      runs: progress.runs,
      worker,
      clientRss: 0,
      largest,
      carried,
      latency,
      counters,
    };
    console.log(
      `(b) engine only (in-process fake runtime) on ${kind}, ${n} clouds, concurrency ${ENGINE_CONCURRENCY} (deploying them took ${deployS.toFixed(1)} s, ${(n / deployS).toFixed(1)} clouds/s)`,
    );
    console.log(
      `    campaign ${seconds.toFixed(1)} s, ${(n / seconds).toFixed(1)} clouds/s, ${row.totals}, continued as new ${progress.runs}x; ` +
        `largest history ${largest.events} events (${largest.id}); ` +
        `last run's input ${(carried / 1024).toFixed(0)} KiB (limit 2,048 KiB)`,
    );
    printWorkerDetail(row);
    printServerDetail(serverBefore, serverAfter);
    return row;
  } catch (error) {
    // Said before the stack stops: closing the client under calls still in flight may end the process.
    console.error(`engine ${kind} ${n}: ${(error as Error).stack ?? String(error)}`);
    throw error;
  } finally {
    clearInterval(clientSampler);
    worker.overall = await stack.stop();
    clientRss = Math.max(clientRss, process.memoryUsage().rss);
    lastClientRss = clientRss;
  }
}
let lastClientRss = 0;

interface ServerScrape {
  histograms: Record<string, Histograms>;
  postgres?: Record<string, number>;
}

/** The cluster's own view: its services' histograms and PostgreSQL's counters (none on the dev server). */
async function scrapeServer(engine: Engine): Promise<ServerScrape> {
  const histograms: Record<string, Histograms> = {};
  for (const [service, url] of Object.entries(engine.metrics)) {
    histograms[service] = await scrapeHistograms(url).catch(() => new Map());
  }
  let postgres: Record<string, number> | undefined;
  if (engine.postgresPort) {
    const db = openDb(`postgres://temporal@127.0.0.1:${engine.postgresPort}/temporal`, { max: 1 });
    try {
      const [row] = await db.query<Record<string, string>>(
        `SELECT xact_commit, xact_rollback, tup_inserted, tup_updated, tup_deleted, tup_fetched, blks_hit, blks_read,
                (SELECT count(*) FROM executions) AS executions, (SELECT count(*) FROM history_node) AS history_nodes,
                pg_database_size('temporal') AS bytes
           FROM pg_stat_database WHERE datname = 'temporal'`,
      );
      postgres = Object.fromEntries(Object.entries(row ?? {}).map(([k, v]) => [k, Number(v)]));
    } catch (error) {
      console.error(`    PostgreSQL statistics: ${(error as Error).message}`);
    } finally {
      await db.close();
    }
  }
  return { histograms, postgres };
}

function printServerDetail(before: ServerScrape, after: ServerScrape): void {
  for (const [service, hist] of Object.entries(after.histograms)) {
    const b = before.histograms[service] ?? new Map();
    const top = (filter: (k: string) => boolean, n: number) =>
      topHistograms(b, hist, filter, n)
        .map((r) => `${r.key} ${(r.mean * 1000).toFixed(2)} ms x${r.count}`)
        .join(', ');
    console.log(
      `    server ${service}: persistence (by total time) ${top((k) => k.startsWith('persistence_latency'), 8) || '–'}`,
    );
    // Latencies only (not sizes), and not long polls (a poll waits for work by design).
    const other = (k: string) =>
      /latency/.test(k) &&
      !k.startsWith('persistence_latency') &&
      !/Poll[A-Za-z]*TaskQueue|poll_latency/.test(k);
    console.log(`    server ${service}: other latencies (by total time) ${top(other, 8) || '–'}`);
  }
  if (before.postgres && after.postgres) {
    const d = (k: string) => (after.postgres![k] ?? 0) - (before.postgres![k] ?? 0);
    console.log(
      `    server PostgreSQL (campaign phase): ${d('xact_commit')} commits, ${d('tup_inserted')} rows inserted, ${d('tup_updated')} updated, ` +
        `${d('tup_deleted')} deleted, ${d('tup_fetched')} fetched; database ${MiB(after.postgres.bytes)} (${after.postgres.executions} executions, ${after.postgres.history_nodes} history nodes)`,
    );
  }
}

function mergePeaks(a: MemoryPeaks | undefined, b: MemoryPeaks): MemoryPeaks {
  if (!a) return { ...b };
  return {
    rss: Math.max(a.rss, b.rss),
    nativeAtPeak: a.rss >= b.rss ? a.nativeAtPeak : b.nativeAtPeak,
    heapUsed: Math.max(a.heapUsed, b.heapUsed),
    heapTotal: Math.max(a.heapTotal, b.heapTotal),
    external: Math.max(a.external, b.external),
    samples: a.samples + b.samples,
  };
}

function printWorkerDetail(row: EngineRow): void {
  const w = row.worker;
  const phase = (name: string, p?: MemoryPeaks) =>
    p
      ? `${name}: RSS ${MiB(p.rss)} (heap used ${MiB(p.heapUsed)}, heap total ${MiB(p.heapTotal)}, external ${MiB(p.external)}, native at the RSS peak ${MiB(p.nativeAtPeak)})`
      : `${name}: ?`;
  console.log(`    worker process peaks: ${phase('deploy', w.deploy)}; ${phase('campaign', w.campaign)}`);
  const ms = (h: string) => {
    const v = row.latency[h];
    return v ? `${v.mean.toFixed(1)} ms (n=${v.count})` : '–';
  };
  console.log(
    `    campaign phase, worker metrics: workflow task schedule-to-start ${ms('temporal_workflow_task_schedule_to_start_latency')}, ` +
      `execution ${ms('temporal_workflow_task_execution_latency')}, replay ${ms('temporal_workflow_task_replay_latency')}; ` +
      `activity schedule-to-start ${ms('temporal_activity_schedule_to_start_latency')}, execution ${ms('temporal_activity_execution_latency')}; ` +
      `gRPC request ${ms('temporal_request_latency')}; ` +
      `sticky cache hit/miss ${row.counters.temporal_sticky_cache_hit}/${row.counters.temporal_sticky_cache_miss}, ` +
      `forced evictions ${row.counters.temporal_sticky_cache_total_forced_eviction}; ` +
      `workflow polls ok/empty ${row.counters.temporal_workflow_task_queue_poll_succeed}/${row.counters.temporal_workflow_task_queue_poll_empty}; ` +
      `activity tasks received ${row.counters.temporal_activity_task_received}`,
  );
}

function printEngineTable(rows: EngineRow[]): void {
  console.log('');
  console.log(
    `engine rows (worker: ${WORKER_NODE_ARGS.join(' ') || 'no extra Node flags'}, PATCHBAY_MAX_CACHED_WORKFLOWS=${process.env.PATCHBAY_MAX_CACHED_WORKFLOWS ?? 'unset'}):`,
  );
  console.log(
    '| engine | clouds | deploy | campaign time | clouds/s | ratio cluster/dev | peak worker RSS | client RSS | largest history |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of rows) {
    const dev = rows.find((d) => d.kind === 'dev' && d.n === r.n);
    const ratio = r.kind === 'cluster' && dev ? `${(r.seconds / dev.seconds).toFixed(2)}` : '–';
    const peak = Math.max(r.worker.deploy?.rss ?? 0, r.worker.campaign?.rss ?? 0, r.worker.overall?.rss ?? 0);
    console.log(
      `| ${r.kind} | ${r.n} | ${r.deployS.toFixed(1)} s (${(r.n / r.deployS).toFixed(1)}/s) | ${r.seconds.toFixed(1)} s | ${(r.n / r.seconds).toFixed(2)} | ${ratio} | ${MiB(peak)} | ${MiB(r.clientRss)} | ${r.largest.events} events |`,
    );
  }
}

async function main(): Promise<void> {
  if (REAL > 0) await real(REAL);
  if (OPENSTACK > 0) await openstack(OPENSTACK);
  const rows: EngineRow[] = [];
  const engines = ENGINE.length ? ENGINES() : [];
  if (ENGINE.length) console.error(`engine rows on: ${engines.join(', ')}`);
  for (const n of ENGINE) {
    for (const kind of engines) {
      const row = await engine(n, kind);
      row.clientRss = lastClientRss;
      rows.push(row);
      printEngineTable(rows);
    }
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
