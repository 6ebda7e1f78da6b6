// What every bench runs on: an in-memory Temporal dev server (the pinned binary, eager activity
// dispatch on), a worker in this process and a client, all torn down by stop().
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { PatchbayClient } from '../src/client/patchbayClient';
import { TEMPORAL_BIN, temporalConfig } from '../src/lib/config';
import { startDevServer } from '../src/lib/devServer';
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
    },
  };
}
