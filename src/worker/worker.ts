// Builds the Patchbay worker: all workflows and activities on one task queue.
import { Client, Connection } from '@temporalio/client';
import { Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities, type Activities } from '../activities';
import { LABEL } from '../record/identity';
import { parseDuration } from '../record/duration';
import { PatchbayError } from '../lib/errors';
import { dockerForHost } from '../runtime/dockerClient';
import type { TemporalConfig } from '../lib/config';
import { openDb, type Db } from '../store/db';
import { storeUrl } from '../store/config';
import { connectNative } from './nativeConnection';
import { checkSearchAttributes } from './searchAttributeCheck';
import { PRELOADED_WORKFLOW_MODULES, WORKFLOWS_PATH } from './workflowBundle';
import { limitWorkflowThreadHeap, workflowMemory } from './workflowMemory';

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
  const { maxCachedWorkflows, workflowHeapMb } = workflowMemory(process.env);
  if (workflowHeapMb > 0) limitWorkflowThreadHeap(workflowHeapMb);
  const options: WorkerOptions = {
    ...stickyTimeout(process.env),
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
      : {
          workflowsPath: WORKFLOWS_PATH,
          bundlerOptions: { preloadModules: PRELOADED_WORKFLOW_MODULES },
        }),
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
 * How long a workflow's next task waits for the worker that ran its last one before any worker may
 * take it (PATCHBAY_STICKY_TIMEOUT, e.g. "3s"; Temporal's default 10 s): after a worker dies, its
 * workflows move on this much later. Lower means faster recovery and more full replays under load.
 */
function stickyTimeout(env: NodeJS.ProcessEnv): Pick<WorkerOptions, 'stickyQueueScheduleToStartTimeout'> {
  const raw = env.PATCHBAY_STICKY_TIMEOUT;
  if (raw === undefined || raw === '') return {};
  const ms = parseDuration(raw);
  if (ms === undefined || ms < 1_000)
    throw new PatchbayError(
      'ENVIRONMENT',
      `PATCHBAY_STICKY_TIMEOUT must be a duration of 1s or more, e.g. "3s" (got "${raw}")`,
    );
  return { stickyQueueScheduleToStartTimeout: ms };
}
