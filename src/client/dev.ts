// `patchbay dev`: the embedded default stack in the foreground.
import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { DefaultLogger, Runtime, type LogEntry } from '@temporalio/worker';
import { STATE_DIR, TEMPORAL_BIN, temporalConfig } from '../lib/config';
import { startDevServer, type DevServer } from '../lib/devServer';
import { createWorker } from '../worker/worker';

export interface EmbeddedStack {
  server: DevServer | null;
  uiUrl: string | null;
  stop(): Promise<void>;
}

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

/** Starts (or reuses) the dev server unless TEMPORAL_ADDRESS is set, and a worker in this process. */
export async function startEmbeddedStack(): Promise<EmbeddedStack & { workerDone: Promise<void> }> {
  Runtime.install({ logger: fileLogger() });
  const config = temporalConfig();
  const server = config.embedded ? await startDevServer({ binary: TEMPORAL_BIN, stateDir: STATE_DIR }) : null;
  const { worker, connection } = await createWorker({ config });
  const workerDone = worker.run().finally(() => connection.close());
  return {
    server,
    uiUrl: server?.uiUrl ?? null,
    workerDone,
    async stop() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await workerDone.catch(() => undefined);
      await server?.stop();
    },
  };
}

export async function runDev(io: { out: (s: string) => void; err: (s: string) => void }): Promise<void> {
  const stack = await startEmbeddedStack();
  const config = temporalConfig();
  io.out(
    `Temporal: ${config.address} (namespace ${config.namespace})${stack.server && !stack.server.started ? ' [reused a running server]' : ''}`,
  );
  if (stack.uiUrl) io.out(`Web UI:   ${stack.uiUrl}`);
  io.out(`worker:   task queue ${config.taskQueue}, log ${WORKER_LOG}. Ctrl-C stops.`);
  const stop = () => void stack.stop();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  await stack.workerDone;
  await stack.server?.stop();
}
