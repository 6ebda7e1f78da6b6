// `patchbay worker`: runs the worker against TEMPORAL_ADDRESS (or the embedded dev server) until
// SIGINT/SIGTERM. PATCHBAY_WORKFLOW_BUNDLE points at a prebuilt bundle (tests build one once).
// PATCHBAY_METRICS_ADDRESS (or --metrics-address) serves Prometheus metrics (src/lib/telemetry.ts).
import { temporalConfig } from '../lib/config';
import { installRuntime, metricsAddress } from '../lib/telemetry';
import { redactUrl, storeUrl } from '../store/config';
import { migrateStore } from '../store/migrate';
import { createWorker } from './worker';

export interface WorkerProcessOptions {
  /** host:port for the Prometheus endpoint (--metrics-address); default PATCHBAY_METRICS_ADDRESS. */
  metricsAddress?: string;
}

export async function runWorkerProcess(options: WorkerProcessOptions = {}): Promise<void> {
  const metrics = metricsAddress(options.metricsAddress);
  installRuntime({ metricsAddress: metrics });
  const config = temporalConfig();
  // The store's schema is brought up to date before any activity may write to it (workers starting
  // together take turns; a worker that cannot reach the store says so and exits).
  const store = storeUrl();
  const migrated = await migrateStore(store.url);
  const { worker, connection } = await createWorker({
    config,
    workflowBundlePath: process.env.PATCHBAY_WORKFLOW_BUNDLE || undefined,
    testRun: process.env.PATCHBAY_TEST_RUN || undefined,
  });
  process.stderr.write(
    `patchbay worker: task queue ${config.taskQueue} on ${config.address} (${config.namespace}), ` +
      `store ${redactUrl(store.url)} (schema ${migrated.version})` +
      `${metrics ? `, metrics on http://${metrics}/metrics` : ''}\n`,
  );
  try {
    await worker.run();
  } finally {
    await connection.close();
  }
}
