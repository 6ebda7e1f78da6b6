// Metrics for operators, end to end: a real worker process with PATCHBAY_METRICS_ADDRESS, scraped
// every second by a real Prometheus (Debian's, run here with its own config, storage and loopback
// port), while a cloud is patched (applied), patched to a broken build (rolled back by its health
// gate), rolled back on demand, and a small campaign patches three clouds (one fails, the budget
// rolls the other two back). The worker's workflow cache holds two workflows, so workflows are
// evicted and replayed all along. Then Prometheus's HTTP API must answer Patchbay's counts exactly
// (a metric emitted again on replay would show), have the SDK metrics the dashboard uses, and run
// every query of the dashboard.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CampaignClient } from '../../src/client/campaignClient';
import { PatchbayClient } from '../../src/client/patchbayClient';
import { CampaignSpecSchema } from '../../src/campaign/spec';
import { temporalConfig } from '../../src/lib/config';
import { CloudRecordSchema } from '../../src/record/schema';
import type { CampaignProgress } from '../../src/workflows/campaignTypes';
import {
  BAKE_DURATION,
  CAMPAIGN_CLOUDS,
  CHANGES,
  HEALTH_GATE_DURATION,
  INSTANCES_OUT_OF_SERVICE,
  ROLLBACKS,
  ROLLOUT_DURATION,
  SERVICE_CHANGES,
} from '../../src/workflows/metrics';
import { testEnv } from '../support/env';
import { FIXTURE } from '../support/fixtures';
import { freePort } from '../support/freePort';
import {
  cloudName,
  fixtureRecord,
  removeCloudContainers,
  runCli,
  startWorker,
  waitFor,
  type WorkerProcess,
} from '../support/harness';
import { SDK_METRICS, sdkSeriesNames } from './sdkMetrics';

jest.setTimeout(120_000);

const PROMETHEUS = '/usr/bin/prometheus';
const QUEUE = 'metrics-it';
const run = `${process.pid % 10_000}`;
const A = cloudName('mx');
const FLEET = [1, 2, 3].map((i) => `mx${run}-f${i}`);
const PORTS_A = [19201, 19202];
const fleetPort = (i: number) => 19210 + i;

let worker: WorkerProcess | undefined;
let prometheus: ChildProcess | undefined;
let client: PatchbayClient;
let dir: string;
let promUrl: string;
/** What Prometheus said (warnings and errors only). */
let promLog = '';

const recordA = (image: string) =>
  CloudRecordSchema.parse(fixtureRecord(A, { api: { image, ports: PORTS_A, timeout: '3s', bake: '1s' } }));
// The third cloud cannot run v2: its gate fails there.
const fleetRecord = (i: number, image: string) =>
  CloudRecordSchema.parse(
    fixtureRecord(FLEET[i]!, {
      api: {
        image,
        ports: [fleetPort(i)],
        timeout: '3s',
        env: i === 2 ? { UNHEALTHY_VERSIONS: 'v2' } : {},
      },
    }),
  );

/** Prometheus's instant query: the result vector. */
async function query(
  expr: string,
): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> {
  const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`, {
    signal: AbortSignal.timeout(5_000),
  });
  const body = (await res.json()) as { status: string; error?: string; data: { result: [] } };
  if (body.status !== 'success') throw new Error(`${expr}: ${body.error}`);
  return body.data.result;
}

/** One number, or null when the query finds nothing. */
async function value(expr: string): Promise<number | null> {
  const result = await query(expr);
  return result.length ? Number(result[0]!.value[1]) : null;
}

/** Fails after `ms` instead of waiting on. */
async function bounded<T>(what: string, ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>(
    (_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms)),
  );
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

async function apply(record: ReturnType<typeof recordA>): Promise<string> {
  const cloud = record.metadata.name;
  return bounded(
    `a change of ${cloud}`,
    30_000,
    (async () => {
      const accepted = await client.apply(record, { message: 'metrics test', author: 'jest' });
      return (await client.waitForChange(cloud, accepted)).outcome;
    })(),
  );
}

beforeAll(async () => {
  if (!existsSync(PROMETHEUS))
    throw new Error(`${PROMETHEUS} is missing; run: bash scripts/bootstrap.sh --fixtures`);
  const metricsPort = await freePort();
  worker = await startWorker(QUEUE, {
    PATCHBAY_METRICS_ADDRESS: `127.0.0.1:${metricsPort}`,
    // A tiny workflow cache: workflows are evicted and replayed from their history all the time,
    // and every count below must still be exact (the SDK drops metric calls while replaying).
    PATCHBAY_MAX_CACHED_WORKFLOWS: '2',
  });
  expect(worker.output()).toContain(`metrics on http://127.0.0.1:${metricsPort}/metrics`);

  dir = mkdtempSync(path.join(os.tmpdir(), 'patchbay-prometheus-'));
  writeFileSync(
    path.join(dir, 'prometheus.yml'),
    [
      'global: { scrape_interval: 1s, evaluation_interval: 1s }',
      'scrape_configs:',
      '  - job_name: patchbay-worker',
      '    scrape_interval: 1s',
      `    static_configs: [{ targets: ['127.0.0.1:${metricsPort}'] }]`,
      '',
    ].join('\n'),
  );
  const promPort = await freePort();
  promUrl = `http://127.0.0.1:${promPort}`;
  prometheus = spawn(
    PROMETHEUS,
    [
      `--config.file=${path.join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  prometheus.stderr?.on('data', (d) => (promLog += d));
  // Ready, and scraping the worker.
  await waitFor(
    'Prometheus to scrape the worker',
    async () => {
      if (prometheus?.exitCode !== null) throw new Error(`prometheus exited:\n${promLog}`);
      return (await value('up{job="patchbay-worker"}').catch(() => null)) === 1;
    },
    30_000,
    250,
  );

  client = await PatchbayClient.connect(
    temporalConfig({ TEMPORAL_ADDRESS: testEnv('address'), PATCHBAY_TASK_QUEUE: QUEUE }),
  );
  for (const cloud of [A, ...FLEET]) await removeCloudContainers(cloud);
});

afterAll(async () => {
  const child = prometheus;
  if (child && child.exitCode === null && child.signalCode === null) {
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), 10_000)));
    if ((await Promise.race([exited, late])) === 'late') child.kill('SIGKILL');
    clearTimeout(timer);
  }
  await client?.close();
  await worker?.stop();
  for (const cloud of [A, ...FLEET]) await removeCloudContainers(cloud);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('a bad address is refused with a clear message, before anything starts', async () => {
  const [flag, env] = await bounded(
    'patchbay worker with a bad address',
    30_000,
    Promise.all([
      runCli(['worker', '--metrics-address', 'localhost:9464'], QUEUE),
      runCli(['worker'], QUEUE, { PATCHBAY_METRICS_ADDRESS: '127.0.0.1' }),
    ]),
  );
  expect(flag.code).toBe(2);
  expect(flag.stderr).toContain('--metrics-address=localhost:9464 is not host:port');
  expect(env.code).toBe(1);
  expect(env.stderr).toContain('PATCHBAY_METRICS_ADDRESS=127.0.0.1 is not host:port');
});

test('patches, rollbacks and a campaign, as Prometheus scraped them from the worker', async () => {
  const started = Date.now();
  const cloudA = async () => {
    expect(await apply(recordA(FIXTURE.v1))).toBe('applied');
    expect(await apply(recordA(FIXTURE.v2))).toBe('applied');
    expect(await apply(recordA(FIXTURE.broken))).toBe('rolled-back');
    const rolledBack = bounded(
      `the rollback of ${A}`,
      30_000,
      (async () => {
        const accepted = await client.rollback(A, { service: 'api', message: 'back to v1', author: 'jest' });
        return (await client.waitForChange(A, accepted)).outcome;
      })(),
    );
    expect(await rolledBack).toBe('applied');
  };
  const campaign = async (): Promise<CampaignProgress> => {
    const outcomes = await Promise.all(FLEET.map((_, i) => apply(fleetRecord(i, FIXTURE.v1))));
    expect(outcomes).toEqual(['applied', 'applied', 'applied']);
    const campaigns = new CampaignClient(client);
    const spec = CampaignSpecSchema.parse({
      apiVersion: 'patchbay/v1',
      kind: 'Campaign',
      metadata: { name: `mx${run}-k1` },
      spec: {
        clouds: { names: FLEET },
        service: 'api',
        image: FIXTURE.v2,
        concurrency: 3,
        failureBudget: { perWave: 0, total: 0, onExceeded: 'rollback' },
      },
    });
    await campaigns.start(spec, 'jest');
    return waitFor(
      'the campaign to finish',
      async () => {
        const p = await campaigns.progress(spec.metadata.name);
        return ['completed', 'halted', 'aborted'].includes(p.phase) && p;
      },
      60_000,
      250,
    );
  };
  const [, progress] = await Promise.all([cloudA(), campaign()]);
  expect(progress.phase).toBe('halted');
  expect(progress.totals).toEqual({ reverted: 2, 'rolled-back': 1 });
  const id = progress.id;
  const ranMs = Date.now() - started;

  // What Prometheus must answer, exactly (summed over the SDK's own labels).
  const exact: Array<[string, number]> = [
    [`sum(${CHANGES.name}{cloud="${A}",outcome="applied"})`, 3],
    [`sum(${CHANGES.name}{cloud="${A}",outcome="rolled-back"})`, 1],
    [`sum(${SERVICE_CHANGES.name}{cloud="${A}",service="api",action="patch",outcome="rolled-back"})`, 1],
    [`sum(${ROLLBACKS.name}{cloud="${A}",service="api",kind="automatic"})`, 1],
    [`sum(${ROLLBACKS.name}{cloud="${A}",service="api",kind="on-demand"})`, 1],
    // The campaign: two clouds patched then reverted by its rollback, one rolled back by its gate.
    [`sum(${CAMPAIGN_CLOUDS.name}{campaign="${id}",kind="patch",outcome="patched"})`, 2],
    [`sum(${CAMPAIGN_CLOUDS.name}{campaign="${id}",kind="patch",outcome="rolled-back"})`, 1],
    [`sum(${CAMPAIGN_CLOUDS.name}{campaign="${id}",kind="revert",outcome="reverted"})`, 2],
    [`sum(${CHANGES.name}{cloud="${FLEET[2]}",outcome="rolled-back"})`, 1],
    [`sum(${ROLLBACKS.name}{cloud=~"${FLEET[0]}|${FLEET[1]}",kind="on-demand"})`, 2],
    // Nothing is left out of service.
    [`max(${INSTANCES_OUT_OF_SERVICE.name}{cloud="${A}"})`, 0],
    [`max(${INSTANCES_OUT_OF_SERVICE.name}{cloud=~"mx${run}-f.*"})`, 0],
  ];
  // Lower bounds: durations observed, and instances out of service while it ran.
  const atLeast: Array<[string, number]> = [
    // create, patch, the broken patch, the rollback
    [`sum(${ROLLOUT_DURATION.name}_count{cloud="${A}",service="api"})`, 4],
    [`sum(${ROLLOUT_DURATION.name}_count{cloud="${A}",outcome="rolled-back"})`, 1],
    [`sum(${HEALTH_GATE_DURATION.name}_count{cloud="${A}",result="passed"})`, 6],
    [`sum(${HEALTH_GATE_DURATION.name}_count{cloud="${A}",result="failed"})`, 1],
    // the broken build waits out its 3 s gate
    [`sum(${HEALTH_GATE_DURATION.name}_sum{cloud="${A}",result="failed"})`, 2.5],
    [`sum(${BAKE_DURATION.name}_count{cloud="${A}",result="passed"})`, 6],
    [`max(max_over_time(${INSTANCES_OUT_OF_SERVICE.name}{cloud="${A}"}[5m]))`, 1],
  ];
  const seen = new Map<string, number | null>();
  const wrong = () => [
    ...exact
      .filter(([expr, want]) => seen.get(expr) !== want)
      .map(([e, w]) => `${e} = ${seen.get(e)}, want ${w}`),
    ...atLeast
      .filter(([expr, min]) => (seen.get(expr) ?? -1) < min)
      .map(([e, m]) => `${e} = ${seen.get(e)}, want >= ${m}`),
  ];
  // Bounded: 40 rounds of every query, 20 s at most.
  for (let round = 0, deadline = Date.now() + 20_000; round < 40 && Date.now() < deadline; round++) {
    for (const [expr] of [...exact, ...atLeast]) seen.set(expr, await value(expr));
    if (wrong().length === 0) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  expect(wrong()).toEqual([]);
  const got = Object.fromEntries(seen);

  // The SDK's own metrics the dashboard uses: present, under these names.
  const names = new Set(
    (await query('count by (__name__) ({__name__=~"temporal_.+", job="patchbay-worker"})')).map(
      (r) => r.metric.__name__!,
    ),
  );
  expect(sdkSeriesNames().filter((n) => !names.has(n))).toEqual([]);
  expect(await value(`sum(${SDK_METRICS.counters[0]})`)).toBeGreaterThanOrEqual(1);

  // Every query of the dashboard parses in Prometheus, and those on what ran here find data.
  const dashboard = JSON.parse(
    readFileSync(path.join(__dirname, '..', '..', 'deploy', 'grafana', 'patchbay-dashboard.json'), 'utf8'),
  ) as { panels: Array<{ title: string; targets?: Array<{ expr: string }> }> };
  const empty: string[] = [];
  let queries = 0;
  for (const panel of dashboard.panels)
    for (const t of panel.targets ?? []) {
      const expr = t.expr
        .replace(/\$(cloud|service|task_queue)\b/g, '.*')
        .replace(/\$__rate_interval/g, '1m');
      queries++;
      if ((await query(expr)).length === 0) empty.push(`${panel.title}: ${expr}`);
    }
  // Nothing failed a bake here.
  expect(empty).toEqual([
    expect.stringContaining('bake_duration_seconds_count{cloud=~".*",service=~".*",result="failed"}'),
  ]);

  // The exact counts above held while workflows were evicted and replayed (142 times in one run).
  const evictions = await value('sum(temporal_sticky_cache_total_forced_eviction)');
  expect(evictions).toBeGreaterThanOrEqual(10);
  // For the report: the numbers seen.
  process.stderr.write(
    `metrics.it: scenarios ran ${ranMs} ms; ${JSON.stringify(got, null, 1)}\n` +
      `SDK series: ${[...names].sort().join(', ')}\n` +
      `forced evictions: ${evictions}\n` +
      `dashboard: ${queries} queries, ${empty.length} without data\n` +
      `prometheus said: ${promLog.trim() || '(nothing)'}\n`,
  );
});
