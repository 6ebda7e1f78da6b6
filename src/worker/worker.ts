// Builds the Patchbay worker: all workflows and activities on one task queue.
import { setFlagsFromString } from 'node:v8';
import { Client, Connection } from '@temporalio/client';
import { Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities, type Activities } from '../activities';
import { LABEL } from '../record/identity';
import { dockerForHost } from '../runtime/dockerClient';
import type { TemporalConfig } from '../lib/config';
import { openDb, type Db } from '../store/db';
import { storeUrl } from '../store/config';
import { connectNative } from './nativeConnection';
import { checkSearchAttributes } from './searchAttributeCheck';

export interface WorkerSetup {
  config: TemporalConfig;
  /** A prebuilt workflow bundle (tests build it once); otherwise the worker bundles src/workflows. */
  workflowBundlePath?: string;
  /** Marks every container this worker creates (tests: so leftovers can be found). */
  testRun?: string;
  /** Replaces some activities (the engine benchmark's in-process fake runtime). */
  activities?: Partial<Activities>;
  /** The record store's URL (default: PATCHBAY_DATABASE_URL, else the embedded one). */
  databaseUrl?: string;
}

export async function createWorker(
  setup: WorkerSetup,
): Promise<{ worker: Worker; connection: { close(): Promise<void> } }> {
  const native = await connectNative(setup.config);
  // Campaign activities talk to cloud workflows through a client of their own.
  const clientConnection = Connection.lazy(setup.config.connection);
  const client = new Client({ connection: clientConnection, namespace: setup.config.namespace });
  await checkSearchAttributes(clientConnection, setup.config.namespace);
  // One pool per worker, opened at the first store activity: a worker starts even while the database
  // is down, and its store activities retry until it answers.
  let db: Db | undefined;
  const database = () => (db ??= openDb(setup.databaseUrl ?? storeUrl().url, { max: 10 }));
  // Memory (BENCHMARKS.md, "Dev server vs cluster"): the worker's RSS is nearly all the workflow
  // thread's V8 heap, ~1.3 MiB live per cached workflow, and with V8's default limit (~4 GiB on a
  // 24 GiB machine) that heap grew to ~3x its live size before a full GC: 3.1 GiB RSS at 1,000 clouds.
  // PATCHBAY_MAX_CACHED_WORKFLOWS=250 with PATCHBAY_WORKFLOW_HEAP_MB=517 measured 1,018 MiB, at a
  // throughput cost (9-31 % in the runs measured), so the defaults stay as they were: opt in.
  const maxCachedWorkflows = Number(process.env.PATCHBAY_MAX_CACHED_WORKFLOWS || 500);
  const heapMb = Number(process.env.PATCHBAY_WORKFLOW_HEAP_MB || 0);
  if (heapMb > 0) limitWorkflowThreadHeap(heapMb);
  const options: WorkerOptions = {
    // Bounded: a fleet has thousands of cloud workflows; the worker keeps the busiest in memory and
    // replays the others when they wake.
    maxCachedWorkflows,
    connection: native,
    namespace: setup.config.namespace,
    taskQueue: setup.config.taskQueue,
    activities: {
      ...createActivities({
        docker: dockerForHost,
        extraLabels: setup.testRun ? { [LABEL.test]: setup.testRun } : undefined,
        temporal: () => client,
        db: database,
      }),
      ...setup.activities,
    },
    ...(setup.workflowBundlePath
      ? { workflowBundle: { codePath: setup.workflowBundlePath } }
      : { workflowsPath: require.resolve('../workflows') }),
  };
  const worker = await Worker.create(options);
  const connection = {
    async close() {
      await clientConnection.close();
      await native.close();
      await db?.close();
    },
  };
  return { worker, connection };
}

/**
 * The heap limit of the workflow thread the SDK is about to start (V8 reads --max-old-space-size when
 * it creates an isolate, so this process's own heap keeps its limit). An operator's own
 * --max-old-space-size (NODE_OPTIONS or the command line) wins.
 */
function limitWorkflowThreadHeap(mebibytes: number): void {
  const given = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  if (given.some((flag) => /^--max[-_]old[-_]space[-_]size/.test(flag))) return;
  setFlagsFromString(`--max-old-space-size=${mebibytes}`);
}
