// `patchbay dev`: the embedded default stack in the foreground.
import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { DefaultLogger, type LogEntry } from '@temporalio/worker';
import { STATE_DIR, TEMPORAL_BIN, temporalConfig } from '../lib/config';
import { startDevServer, type DevServer } from '../lib/devServer';
import { installRuntime, metricsAddress } from '../lib/telemetry';
import { EMBEDDED_STORE_PORT, redactUrl, storeUrl } from '../store/config';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../store/embeddedPostgres';
import { migrateStore } from '../store/migrate';
import { createWorker } from '../worker/worker';

export interface EmbeddedStack {
  server: DevServer | null;
  uiUrl: string | null;
  /** The record store's URL, and the embedded PostgreSQL when PATCHBAY_DATABASE_URL is unset. */
  store: { url: string; postgres: EmbeddedPostgres | null };
  stop(): Promise<void>;
}

/** The embedded store's data directory (initdb'd on first use). */
export const POSTGRES_DIR = path.join(STATE_DIR, 'postgres');

/** Where the in-process worker logs: its expected warnings (a failed health gate) are not the CLI's output. */
export const WORKER_LOG = path.join(STATE_DIR, 'worker.log');

function fileLogger(): DefaultLogger {
  mkdirSync(STATE_DIR, { recursive: true });
  return new DefaultLogger('INFO', (entry: LogEntry) => {
    const meta = entry.meta ? ` ${JSON.stringify(entry.meta)}` : '';
    appendFileSync(
      WORKER_LOG,
      `${new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString()} ${entry.level} ${entry.message}${meta}\n`,
    );
  });
}

/**
 * Starts (or reuses) the dev server unless TEMPORAL_ADDRESS is set, the embedded PostgreSQL unless
 * PATCHBAY_DATABASE_URL is set, migrates the store, and runs a worker in this process.
 */
export async function startEmbeddedStack(): Promise<EmbeddedStack & { workerDone: Promise<void> }> {
  // PATCHBAY_METRICS_ADDRESS serves the embedded worker's metrics too (README: Metrics).
  installRuntime({ logger: fileLogger(), metricsAddress: metricsAddress() });
  const config = temporalConfig();
  const store = storeUrl();
  let postgres: EmbeddedPostgres | null = null;
  let server: DevServer | null = null;
  try {
    if (store.embedded) {
      postgres = await startEmbeddedPostgres({ dataDir: POSTGRES_DIR, port: EMBEDDED_STORE_PORT });
      // The worker in this process (and the activities it runs) find the store here.
      process.env.PATCHBAY_DATABASE_URL = postgres.url;
    }
    const url = postgres?.url ?? store.url;
    await migrateStore(url);
    server = config.embedded ? await startDevServer({ binary: TEMPORAL_BIN, stateDir: STATE_DIR }) : null;
    const { worker, connection } = await createWorker({ config });
    const workerDone = worker.run().finally(() => connection.close());
    let stopping: Promise<void> | undefined;
    return {
      server,
      uiUrl: server?.uiUrl ?? null,
      store: { url, postgres },
      workerDone,
      // Once, in order: the worker first, so no activity is cut off from the store it writes to.
      stop: () =>
        (stopping ??= (async () => {
          if (worker.getState() === 'RUNNING') worker.shutdown();
          await workerDone.catch(() => undefined);
          await server?.stop();
          await postgres?.stop();
        })()),
    };
  } catch (error) {
    // A half-started stack must not leave a detached PostgreSQL behind.
    await server?.stop();
    await postgres?.stop();
    throw error;
  }
}

export async function runDev(io: { out: (s: string) => void; err: (s: string) => void }): Promise<void> {
  const stack = await startEmbeddedStack();
  const config = temporalConfig();
  io.out(
    `Temporal: ${config.address} (namespace ${config.namespace})${stack.server && !stack.server.started ? ' [reused a running server]' : ''}`,
  );
  if (stack.uiUrl) io.out(`Web UI:   ${stack.uiUrl}`);
  const { postgres } = stack.store;
  io.out(
    `store:    ${redactUrl(stack.store.url)}${postgres ? ` (data in ${POSTGRES_DIR})` : ''}${postgres && !postgres.started ? ' [reused a running server]' : ''}`,
  );
  io.out(`worker:   task queue ${config.taskQueue}, log ${WORKER_LOG}. Ctrl-C stops.`);
  const stop = () => void stack.stop();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  await stack.workerDone;
  await stack.stop();
}
