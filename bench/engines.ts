// The Temporal a bench runs on: the in-memory dev server (the pinned `temporal` CLI), or a real
// Temporal cluster (scripts/temporal-cluster.sh: PostgreSQL, frontend/history/matching/worker as
// separate processes, frontend on mTLS) started in a fresh directory and stopped after.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import {
  PROJECT_ROOT,
  STATE_DIR,
  TEMPORAL_BIN,
  temporalConfig,
  type TemporalConfig,
} from '../src/lib/config';
import { startDevServer } from '../src/lib/devServer';
import { SEARCH_ATTRIBUTES } from '../src/workflows/searchAttributes';

export type EngineKind = 'dev' | 'cluster';

export interface Engine {
  kind: EngineKind;
  /** TEMPORAL_* variables a worker or client of this engine needs (address, namespace, TLS files). */
  env: Record<string, string>;
  address: string;
  /** For the stall diagnosis: the dev server's pid and log (none for the cluster). */
  server: { pid?: number; logPath?: string };
  /** The cluster's directory (env, cluster.json, logs), for the metrics scrape. */
  dir?: string;
  /** Prometheus endpoints of the cluster's services (when serverMetrics was asked and it worked). */
  metrics: Record<string, string>;
  /** The cluster's PostgreSQL port (persistence statistics). */
  postgresPort?: number;
  config(taskQueue: string): TemporalConfig;
  stop(): Promise<void>;
}

const CLUSTER_SCRIPT = path.join(PROJECT_ROOT, 'scripts', 'temporal-cluster.sh');

/** True when scripts/temporal-cluster.sh exists and its build is there (`build --check`). */
export function clusterBuilt(): boolean {
  if (!existsSync(CLUSTER_SCRIPT)) return false;
  return (
    spawnSync('bash', [CLUSTER_SCRIPT, 'build', '--check'], { stdio: 'ignore', timeout: 60_000 }).status === 0
  );
}

/** The variables DIR/env exports (sourced by bash, so quoting is bash's). */
function readEnvFile(file: string): Record<string, string> {
  const out = execFileSync('bash', ['-c', 'set -a; source "$1"; env -0', 'env', file], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
  });
  const env: Record<string, string> = {};
  for (const line of out.split('\0')) {
    const i = line.indexOf('=');
    const key = line.slice(0, i);
    if (i > 0 && /^(TEMPORAL_|PATCHBAY_)/.test(key)) env[key] = line.slice(i + 1);
  }
  return env;
}

/** A namespace without Patchbay's search attributes fails workflow tasks: add what is missing. */
async function ensureSearchAttributes(config: TemporalConfig): Promise<void> {
  const connection = await Connection.connect(config.connection);
  try {
    const listed = await connection.operatorService.listSearchAttributes({ namespace: config.namespace });
    const missing = SEARCH_ATTRIBUTES.filter(([name]) => !(name in (listed.customAttributes ?? {})));
    if (missing.length === 0) return;
    // temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD = 2 (all of Patchbay's are Keyword).
    await connection.operatorService.addSearchAttributes({
      namespace: config.namespace,
      searchAttributes: Object.fromEntries(missing.map(([name]) => [name, 2])),
    });
    for (let i = 0; i < 60; i++) {
      const now = await connection.operatorService.listSearchAttributes({ namespace: config.namespace });
      if (missing.every(([name]) => name in (now.customAttributes ?? {}))) return;
      await new Promise((r) => setTimeout(r, 1_000));
    }
    throw new Error(`search attributes ${missing.map(([n]) => n).join(', ')} not visible after 60 s`);
  } finally {
    await connection.close();
  }
}

/**
 * The cluster script's config has no metrics section. Each service is restarted (the script's own
 * stop-service/start-service, same ports) on a copy of the config that is a template ("# enable-template",
 * rendered by temporal-server) with global.metrics.prometheus on a loopback port given per process in
 * BENCH_METRICS_PORT. Returns service -> metrics URL; a failure only costs the metrics.
 */
function enableServerMetrics(dir: string, basePort: number): Record<string, string> {
  const file = path.join(dir, 'temporal.yaml');
  const yaml = readFileSync(file, 'utf8');
  if (/\n\s+metrics:/.test(yaml)) return {};
  const withMetrics = yaml.replace(
    /^global:\n/m,
    'global:\n  metrics:\n    prometheus:\n      timerType: histogram\n' +
      '      listenAddress: "127.0.0.1:{{ env "BENCH_METRICS_PORT" }}"\n',
  );
  writeFileSync(file, `# enable-template (bench: metrics on BENCH_METRICS_PORT)\n${withMetrics}`);
  const urls: Record<string, string> = {};
  ['history', 'matching', 'frontend'].forEach((service, i) => {
    const port = basePort + i;
    for (const step of ['stop-service', 'start-service']) {
      const r = spawnSync('bash', [CLUSTER_SCRIPT, step, service, '--dir', dir], {
        stdio: ['ignore', 'ignore', 'inherit'],
        env: { ...process.env, BENCH_METRICS_PORT: String(port) },
        timeout: 3 * 60_000,
      });
      if (r.status !== 0)
        throw new Error(`temporal-cluster.sh ${step} ${service} failed (${r.status ?? r.signal})`);
    }
    urls[service] = `http://127.0.0.1:${port}/metrics`;
  });
  return urls;
}

export async function startEngine(
  kind: EngineKind,
  port: number,
  options: { serverMetricsPort?: number } = {},
): Promise<Engine> {
  if (kind === 'dev') {
    const stateDir = mkdtempSync(path.join(os.tmpdir(), 'patchbay-bench-'));
    const server = await startDevServer({
      binary: TEMPORAL_BIN,
      stateDir,
      port,
      uiPort: port + 1000,
      ephemeral: true,
      headless: true,
    });
    const env = { TEMPORAL_ADDRESS: server.address, TEMPORAL_NAMESPACE: 'default' };
    return {
      kind,
      env,
      address: server.address,
      server: { pid: server.pid, logPath: server.logPath },
      metrics: {},
      config: (taskQueue) => temporalConfig({ ...env, PATCHBAY_TASK_QUEUE: taskQueue }),
      async stop() {
        await server.stop();
        rmSync(stateDir, { recursive: true, force: true });
      },
    };
  }
  if (!existsSync(CLUSTER_SCRIPT)) throw new Error(`${CLUSTER_SCRIPT} does not exist (not built yet)`);
  const root = path.join(STATE_DIR, 'bench-cluster');
  mkdirSync(root, { recursive: true });
  const dir = mkdtempSync(path.join(root, 'run-'));
  const t0 = Date.now();
  const started = spawnSync('bash', [CLUSTER_SCRIPT, 'start', '--dir', dir], {
    stdio: ['ignore', 2, 'inherit'], // its stdout (the env file's path) is not a result
    timeout: 10 * 60_000,
  });
  const stop = async () => {
    spawnSync('bash', [CLUSTER_SCRIPT, 'stop', '--dir', dir], {
      stdio: ['ignore', 2, 'inherit'], // its stdout (the env file's path) is not a result
      timeout: 3 * 60_000,
    });
  };
  if (started.status !== 0) {
    await stop();
    throw new Error(`temporal-cluster.sh start --dir ${dir} failed (${started.status ?? started.signal})`);
  }
  console.error(`    cluster started in ${((Date.now() - t0) / 1000).toFixed(1)} s (${dir})`);
  let metrics: Record<string, string> = {};
  if (options.serverMetricsPort) {
    try {
      metrics = enableServerMetrics(dir, options.serverMetricsPort);
      console.error(
        `    cluster services restarted with Prometheus metrics: ${Object.values(metrics).join(' ')}`,
      );
    } catch (error) {
      console.error(`    no server metrics: ${(error as Error).message}`);
    }
  }
  const env = readEnvFile(path.join(dir, 'env'));
  const config = (taskQueue: string) => temporalConfig({ ...env, PATCHBAY_TASK_QUEUE: taskQueue });
  try {
    await ensureSearchAttributes(config('unused'));
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    kind,
    env,
    address: env.TEMPORAL_ADDRESS ?? '',
    server: {},
    dir,
    metrics,
    postgresPort: Number(readFileSync(path.join(dir, 'postgres.port'), 'utf8').trim()) || undefined,
    config,
    async stop() {
      await stop();
      if (!process.env.BENCH_KEEP_CLUSTER_DIR) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** cluster.json of a started cluster (whatever the script wrote), or undefined. */
export function clusterInfo(engine: Engine): Record<string, unknown> | undefined {
  if (!engine.dir || !existsSync(path.join(engine.dir, 'cluster.json'))) return undefined;
  return JSON.parse(readFileSync(path.join(engine.dir, 'cluster.json'), 'utf8')) as Record<string, unknown>;
}
