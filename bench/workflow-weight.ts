// npm run bench:workflow-weight — what one cached workflow costs the worker before it runs a line
// (test/support/workflowWeight.ts: the bundle instantiated as the SDK's reusable context does), beside
// the baseline in the same run: the same workflows with zod and the schemas imported eagerly, as every
// workflow instantiated them before src/workflows/schemas.ts loaded them on first use and shared them.
// Options: --instances N (default 50), --json.
import {
  measureWorkflowWeight,
  WORKFLOWS,
  WORKFLOWS_WITH_SCHEMAS,
  type WorkflowWeight,
} from '../test/support/workflowWeight';

async function main(): Promise<void> {
  const i = process.argv.indexOf('--instances');
  const instances = i >= 0 ? Number(process.argv[i + 1]) : 50;
  const runs: Array<[string, Promise<WorkflowWeight> | WorkflowWeight]> = [];
  const measure = async (name: string, w: Promise<WorkflowWeight>) => runs.push([name, await w]);
  await measure('baseline: schemas eager', measureWorkflowWeight(WORKFLOWS_WITH_SCHEMAS, { instances }));
  await measure('now: parses nothing', measureWorkflowWeight(WORKFLOWS, { instances }));
  await measure('now: parses (shared)', measureWorkflowWeight(WORKFLOWS, { instances, parse: true }));
  await measure(
    'without the preload: parses',
    measureWorkflowWeight(WORKFLOWS, { instances, parse: true, preload: false }),
  );
  const rows = (runs as Array<[string, WorkflowWeight]>).map(([name, w]) => ({
    name,
    modules: w.modules.length,
    kib: Math.round(w.kib),
    ms: Number(w.ms.toFixed(2)),
  }));
  const base = rows[0]!;
  if (process.argv.includes('--json')) {
    console.log(JSON.stringify({ instances, rows }));
    return;
  }
  console.log(`per workflow instance, mean of ${instances} (Node ${process.version}):`);
  for (const r of rows) {
    const ratio = `${(base.kib / Math.max(r.kib, 1)).toFixed(1)}x less memory, ${(base.ms / Math.max(r.ms, 0.01)).toFixed(1)}x less CPU than the baseline`;
    console.log(
      `  ${r.name.padEnd(30)} ${String(r.modules).padStart(3)} modules  ${String(r.kib).padStart(5)} KiB  ${r.ms.toFixed(2).padStart(6)} ms  ${r === base ? '' : ratio}`,
    );
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
