// How much memory the worker's workflows may take. Nearly all of a worker's RSS is the workflow
// thread's V8 heap, and V8's default limit on a big machine (~4 GiB on 24 GiB) lets it grow to ~3x
// what is live before a full GC: 2.7-3.1 GiB RSS at 1,000 clouds with 500 cached workflows. Since a
// workflow carries ~80 KiB of modules (zod and the schemas are shared: src/workflows/schemas.ts), a
// 512 MiB heap holds 500 of them with room to spare and no throughput lost (BENCHMARKS.md, "Worker
// memory"): 900 MiB RSS at 1,000 clouds, faster than before.
import { setFlagsFromString } from 'node:v8';
import { PatchbayError } from '../lib/errors';

export interface WorkflowMemory {
  /** Workflows kept in memory between tasks (PATCHBAY_MAX_CACHED_WORKFLOWS, default 500). */
  maxCachedWorkflows: number;
  /**
   * The workflow thread's heap limit in MiB (PATCHBAY_WORKFLOW_HEAP_MB; default 1 MiB per cached
   * workflow, at least 512; 0: V8's own default).
   */
  workflowHeapMb: number;
}

export const DEFAULT_MAX_CACHED_WORKFLOWS = 500;
export const MIN_WORKFLOW_HEAP_MB = 512;

function count(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) {
    throw new PatchbayError('ENVIRONMENT', `${name} must be a whole number, 0 or more (got "${raw}")`);
  }
  return value;
}

export function workflowMemory(env: NodeJS.ProcessEnv): WorkflowMemory {
  const maxCachedWorkflows = count(env, 'PATCHBAY_MAX_CACHED_WORKFLOWS') ?? DEFAULT_MAX_CACHED_WORKFLOWS;
  const workflowHeapMb =
    count(env, 'PATCHBAY_WORKFLOW_HEAP_MB') ?? Math.max(MIN_WORKFLOW_HEAP_MB, maxCachedWorkflows);
  return { maxCachedWorkflows, workflowHeapMb };
}

/**
 * The heap limit of the workflow thread the SDK is about to start (V8 reads --max-old-space-size when
 * it creates an isolate, so this process's own heap keeps its limit). An operator's own
 * --max-old-space-size (NODE_OPTIONS or the command line) wins.
 */
export function limitWorkflowThreadHeap(mebibytes: number): void {
  const given = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  if (given.some((flag) => /^--max[-_]old[-_]space[-_]size/.test(flag))) return;
  setFlagsFromString(`--max-old-space-size=${mebibytes}`);
}
