// What every bench runs on: an in-memory Temporal dev server (the pinned binary, eager activity
// dispatch on), a fresh record store (embedded PostgreSQL), a worker in this process and a client,
// all torn down by stop().
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { PatchbayClient } from '../src/client/patchbayClient';
import { STATE_DIR, TEMPORAL_BIN, temporalConfig } from '../src/lib/config';
import { startDevServer } from '../src/lib/devServer';
import { startFreshPostgres } from '../src/store/embeddedPostgres';
import { migrateStore } from '../src/store/migrate';
import { createWorker } from '../src/worker/worker';
import type { Activities } from '../src/activities';
import type { StallContext } from './stallDiagnostics';

let installed = false;

export async function startBenchStack(
  port: number,
  taskQueue: string,
  activities?: Partial<Activities>,
): Promise<{
  client: PatchbayClient;
  address: string;
  stall: StallContext;
  stop(): Promise<void>;
}> {
  // Once per process (a bench may start several stacks in turn).
  installed ||= (Runtime.install({ logger: new DefaultLogger('WARN') }), true);
  const server = await startDevServer({
    binary: TEMPORAL_BIN,
    stateDir: mkdtempSync(path.join(os.tmpdir(), 'patchbay-bench-')),
    port,
    uiPort: port + 1000,
    ephemeral: true,
    headless: true,
  });
  // Like the in-memory Temporal: an empty store each time, never the operator's (PATCHBAY_DATABASE_URL
  // is replaced for this process, whose worker and client read it).
  const postgresDir = path.join(STATE_DIR, 'bench', `postgres-${port}`);
  const postgres = await startFreshPostgres({ dataDir: postgresDir, port: port + 2000 });
  await migrateStore(postgres.url);
  process.env.PATCHBAY_DATABASE_URL = postgres.url;
  const config = temporalConfig({ TEMPORAL_ADDRESS: server.address, PATCHBAY_TASK_QUEUE: taskQueue });
  const { worker, connection } = await createWorker({ config, activities });
  const running = worker.run();
  const client = await PatchbayClient.connect(config);
  return {
    client,
    address: server.address,
    stall: { client: client.client, namespace: config.namespace, taskQueue, server },
    async stop() {
      await client.close();
      worker.shutdown();
      await running;
      await connection.close();
      await server.stop();
      await postgres.stop();
      rmSync(postgresDir, { recursive: true, force: true });
    },
  };
}
