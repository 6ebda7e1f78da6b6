// How Patchbay's workflows are bundled: by the worker, and by every test or tool that bundles them
// itself (so they run what the worker runs).
import type { BundleOptions } from '@temporalio/worker';

/** The workflows' entry module. */
export const WORKFLOWS_PATH = require.resolve('../workflows');

/**
 * Modules the SDK loads once per worker and shares with every workflow: the lazy holder of zod and the
 * schemas (src/workflows/schemas.ts says why sharing it is safe), so a cached workflow does not carry
 * its own copy.
 */
export const PRELOADED_WORKFLOW_MODULES = [require.resolve('../workflows/schemas')];

/** Options for bundleWorkflowCode (the worker passes the same as its bundlerOptions). */
export function workflowBundleOptions(): Pick<BundleOptions, 'workflowsPath' | 'preloadModules'> {
  return { workflowsPath: WORKFLOWS_PATH, preloadModules: PRELOADED_WORKFLOW_MODULES };
}
