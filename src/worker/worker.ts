// Builds the Patchbay worker: all workflows and activities on one task queue.
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities } from '../activities';
import { LABEL } from '../record/identity';
import { dockerForHost } from '../runtime/dockerClient';
import type { TemporalConfig } from '../lib/config';

export interface WorkerSetup {
  config: TemporalConfig;
  /** A prebuilt workflow bundle (tests build it once); otherwise the worker bundles src/workflows. */
  workflowBundlePath?: string;
  /** Marks every container this worker creates (tests: so leftovers can be found). */
  testRun?: string;
}

export async function createWorker(
  setup: WorkerSetup,
): Promise<{ worker: Worker; connection: NativeConnection }> {
  const { address, tls, apiKey } = setup.config.connection;
  const connection = await NativeConnection.connect({
    address,
    tls,
    apiKey: typeof apiKey === 'function' ? apiKey() : apiKey,
  });
  const options: WorkerOptions = {
    connection,
    namespace: setup.config.namespace,
    taskQueue: setup.config.taskQueue,
    activities: createActivities({
      docker: dockerForHost,
      extraLabels: setup.testRun ? { [LABEL.test]: setup.testRun } : undefined,
    }),
    ...(setup.workflowBundlePath
      ? { workflowBundle: { codePath: setup.workflowBundlePath } }
      : { workflowsPath: require.resolve('../workflows') }),
  };
  const worker = await Worker.create(options);
  return { worker, connection };
}
