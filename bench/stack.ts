// What every bench runs on: a Temporal (by default the in-memory dev server, the pinned binary, eager
// activity dispatch on; or a real cluster, bench/engines.ts), a fresh record store (embedded
// PostgreSQL), a worker and a client, all torn down by stop(). The worker runs in this process, or
// (workerProcess) in a child of its own, bench/engineWorker.ts, whose memory is measured apart.
import { fork, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import type Docker from 'dockerode';
import { listCloudContainers } from '../src/runtime/observe';
import { PatchbayClient } from '../src/client/patchbayClient';
import { STATE_DIR } from '../src/lib/config';
import { startFreshPostgres } from '../src/store/embeddedPostgres';
import { migrateStore } from '../src/store/migrate';
import { createWorker } from '../src/worker/worker';
import type { Activities } from '../src/activities';
import type { MemoryPeaks, WorkerMessage } from './engineWorker';
import { startEngine, type Engine, type EngineKind } from './engines';
import type { StallContext } from './stallDiagnostics';

let installed = false;

export interface StackOptions {
  /** dev (default) or cluster. */
  engine?: EngineKind;
  /** Cluster only: restart its services with Prometheus metrics on 127.0.0.1:port, port+1, port+2. */
  serverMetricsPort?: number;
  /** Run the worker (with the fake runtime) in a child process. */
  workerProcess?: {
    /** Node flags for the child, e.g. --max-old-space-size=…, --max-semi-space-size=…. */
    nodeArgs?: string[];
    /** Extra environment (PATCHBAY_MAX_CACHED_WORKFLOWS…). */
    env?: Record<string, string>;
    /** Serve the SDK's Prometheus metrics on 127.0.0.1:port. */
    metricsPort?: number;
  };
}

export interface BenchStack {
  client: PatchbayClient;
  address: string;
  engine: Engine;
  stall: StallContext;
  /** With workerProcess: the child's memory peaks since the last call. */
  workerPeaks(): Promise<MemoryPeaks | undefined>;
  /** With workerProcess: ask the child to write a heap snapshot (BENCH_HEAP_SNAPSHOT_DIR). */
  workerHeapSnapshot(): void;
  /** Stops everything; with workerProcess, resolves to the child's overall peaks. */
  stop(): Promise<MemoryPeaks | undefined>;
}

function startWorkerProcess(
  env: NodeJS.ProcessEnv,
  options: NonNullable<StackOptions['workerProcess']>,
): Promise<{
  child: ChildProcess;
  request<T extends WorkerMessage['type']>(
    message: string,
    answer: T,
  ): Promise<Extract<WorkerMessage, { type: T }>>;
}> {
  const child = fork(path.join(__dirname, 'engineWorker.ts'), [], {
    execArgv: ['--require', 'tsx/cjs', ...(options.nodeArgs ?? [])],
    env: {
      ...env,
      ...options.env,
      ...(options.metricsPort ? { BENCH_WORKER_METRICS_PORT: String(options.metricsPort) } : {}),
    },
    // The child's stdout (the SDK core's warnings) goes to stderr: stdout is the bench's results.
    stdio: ['ignore', 2, 2, 'ipc'],
  });
  const request = <T extends WorkerMessage['type']>(message: string, answer: T) =>
    new Promise<Extract<WorkerMessage, { type: T }>>((resolve, reject) => {
      const timer = setTimeout(() => done(new Error(`worker process: no '${answer}' in 120 s`)), 120_000);
      const onMessage = (m: WorkerMessage) => {
        if (m.type === answer) done(undefined, m as Extract<WorkerMessage, { type: T }>);
        else if (m.type === 'error') done(new Error(`worker process: ${m.message}`));
      };
      const onExit = (code: number | null, signal: string | null) =>
        done(new Error(`worker process exited (${signal ?? code}) before '${answer}'`));
      function done(error?: Error, m?: Extract<WorkerMessage, { type: T }>) {
        clearTimeout(timer);
        child.off('message', onMessage);
        child.off('exit', onExit);
        if (error) reject(error);
        else resolve(m!);
      }
      child.on('message', onMessage);
      child.once('exit', onExit);
      if (message) child.send(message);
    });
  return request('', 'ready').then(() => ({ child, request }));
}

export async function startBenchStack(
  port: number,
  taskQueue: string,
  activities?: Partial<Activities>,
  options: StackOptions = {},
): Promise<BenchStack> {
  const engine = await startEngine(options.engine ?? 'dev', port, {
    serverMetricsPort: options.serverMetricsPort,
  });
  // Like the in-memory Temporal: an empty store each time, never the operator's (PATCHBAY_DATABASE_URL
  // is replaced for this process, whose worker and client read it).
  const postgresDir = path.join(STATE_DIR, 'bench', `postgres-${port}`);
  const postgres = await startFreshPostgres({ dataDir: postgresDir, port: port + 2000 });
  await migrateStore(postgres.url);
  process.env.PATCHBAY_DATABASE_URL = postgres.url;
  const config = engine.config(taskQueue);
  let stopWorker: () => Promise<MemoryPeaks | undefined>;
  let workerPeaks: () => Promise<MemoryPeaks | undefined> = async () => undefined;
  let workerHeapSnapshot = () => undefined as void;
  if (options.workerProcess) {
    const { child, request } = await startWorkerProcess(
      { ...process.env, ...engine.env, PATCHBAY_TASK_QUEUE: taskQueue },
      options.workerProcess,
    );
    workerPeaks = async () => (await request('peaks', 'peaks')).peaks;
    workerHeapSnapshot = () => void child.send('heapsnapshot');
    stopWorker = async () => {
      const stopped = await request('stop', 'stopped').catch(() => undefined);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      return stopped?.peaks;
    };
  } else {
    // Once per process (a bench may start several stacks in turn).
    installed ||= (Runtime.install({ logger: new DefaultLogger('WARN') }), true);
    const { worker, connection } = await createWorker({ config, activities });
    const running = worker.run();
    stopWorker = async () => {
      worker.shutdown();
      await running;
      await connection.close();
      return undefined;
    };
  }
  const client = await PatchbayClient.connect(config);
  return {
    client,
    address: engine.address,
    engine,
    stall: { client: client.client, namespace: config.namespace, taskQueue, server: engine.server },
    workerPeaks,
    workerHeapSnapshot,
    async stop() {
      await client.close();
      const peaks = await stopWorker();
      await engine.stop();
      await postgres.stop();
      rmSync(postgresDir, { recursive: true, force: true });
      return peaks;
    },
  };
}

/** Removes every container of a cloud (a bench's own, before and after it runs). */
export async function removeCloud(docker: Docker, name: string): Promise<void> {
  for (const c of await listCloudContainers(docker, name))
    await docker
      .getContainer(c.id)
      .remove({ force: true })
      .catch(() => undefined);
}
