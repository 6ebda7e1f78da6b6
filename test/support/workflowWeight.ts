// What one workflow costs the worker before it runs a line: the SDK (reusable V8 context, its default)
// evaluates the workflow bundle once, shares the modules loaded before any workflow exists (its own and
// the preloaded ones) and instantiates the rest — Patchbay's workflow modules and what they import —
// afresh for every workflow it holds in its cache. This does the same outside a worker and measures it.
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { bundleWorkflowCode } from '@temporalio/worker';
import { PRELOADED_WORKFLOW_MODULES } from '../../src/worker/workflowBundle';

const ROOT = path.resolve(__dirname, '../..');
const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };

/** The workflows as the worker bundles them. */
export const WORKFLOWS = path.join(ROOT, 'src/workflows/index.ts');
/**
 * The same workflows with zod, the record and campaign schemas and the payloads imported eagerly: what
 * each workflow instantiated before they were loaded on first use.
 */
export const WORKFLOWS_WITH_SCHEMAS = path.join(ROOT, 'test/support/workflowsWithSchemas.ts');

const SCHEMAS_MODULE = './src/workflows/schemas.ts';
const LOADERS = ['recordSchema', 'recordValidation', 'campaignSpec', 'messagePayloads', 'campaignPayloads'];

export interface WeightOptions {
  /** Bundle with the worker's preloaded modules (default true). */
  preload?: boolean;
  /** Each workflow also loads every schema through src/workflows/schemas.ts, as one that parses does. */
  parse?: boolean;
  instances?: number;
}

export interface WorkflowWeight {
  /** Module ids instantiated for one workflow (not shared). */
  modules: string[];
  /** Heap retained per workflow instance, in KiB (after full GCs). */
  kib: number;
  /** CPU time to instantiate one workflow's modules (and load the schemas, with `parse`), in ms. */
  ms: number;
}

function collector(): () => void {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}

type ModuleRecord = { exports: Record<string, () => unknown> };

/** Instantiates the bundle's workflow modules `instances` times in one context, as the SDK does. */
export async function measureWorkflowWeight(
  workflowsPath: string,
  { preload = true, parse = false, instances = 30 }: WeightOptions = {},
): Promise<WorkflowWeight> {
  const { code } = await bundleWorkflowCode({
    workflowsPath,
    preloadModules: preload ? PRELOADED_WORKFLOW_MODULES : [],
    logger: quiet,
  });
  const shared = new Map<PropertyKey, unknown>();
  const context: Record<string, unknown> & {
    __TEMPORAL_ACTIVATOR__?: { moduleCache: Map<PropertyKey, unknown> };
  } = vm.createContext({ console, TextEncoder, TextDecoder, URL, URLSearchParams, AbortController });
  Object.defineProperty(context, '__webpack_module_cache__', {
    value: new Proxy(
      {},
      {
        get: (_, id) => shared.get(id) ?? context.__TEMPORAL_ACTIVATOR__?.moduleCache.get(id),
        set: (_, id, value) => {
          const own = context.__TEMPORAL_ACTIVATOR__?.moduleCache;
          if (own) own.set(id, value);
          else shared.set(id, value);
          return true;
        },
      },
    ),
  });
  new vm.Script(code).runInContext(context);
  vm.runInContext('__TEMPORAL__.preloadModules?.()', context);
  const caches: Map<PropertyKey, unknown>[] = [];
  const instantiate = () => {
    const moduleCache = new Map<PropertyKey, unknown>();
    context.__TEMPORAL_ACTIVATOR__ = { moduleCache };
    vm.runInContext('__TEMPORAL__.importWorkflows()', context);
    if (parse) {
      // The workflow's own instance of the holder, or the shared one when it is preloaded.
      const holder = (shared.get(SCHEMAS_MODULE) ?? moduleCache.get(SCHEMAS_MODULE)) as ModuleRecord;
      for (const load of LOADERS) holder.exports[load]?.();
    }
    caches.push(moduleCache);
  };
  const gc = collector();
  instantiate(); // the first one warms the shared modules' lazy state (and, preloaded, loads the schemas)
  gc();
  gc();
  const before = process.memoryUsage().heapUsed;
  const started = process.hrtime.bigint();
  for (let i = 0; i < instances; i++) instantiate();
  const cpu = Number(process.hrtime.bigint() - started) / 1e6;
  gc();
  gc();
  const after = process.memoryUsage().heapUsed;
  const modules = [...(caches[1]?.keys() ?? [])].map(String);
  return { modules, kib: (after - before) / instances / 1024, ms: cpu / instances };
}
