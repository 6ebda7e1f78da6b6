// npm run bench:workflow-weight — what one cached workflow costs the worker before it runs a line
// (test/support/workflowWeight.ts: the bundle instantiated as the SDK's reusable context does), beside
// the baseline in the same run: the same workflows with zod and the schemas imported eagerly, as every
// workflow instantiated them before they were loaded on first use (src/workflows/schemas.ts).
// Options: --instances N (default 50), --json.
import { measureWorkflowWeight, WORKFLOWS, WORKFLOWS_WITH_SCHEMAS } from '../test/support/workflowWeight';

async function main(): Promise<void> {
  const i = process.argv.indexOf('--instances');
  const instances = i >= 0 ? Number(process.argv[i + 1]) : 50;
  const lazy = await measureWorkflowWeight(WORKFLOWS, instances);
  const eager = await measureWorkflowWeight(WORKFLOWS_WITH_SCHEMAS, instances);
  const row = (name: string, w: typeof lazy) => ({
    name,
    modules: w.modules.length,
    kib: Math.round(w.kib),
    ms: Number(w.ms.toFixed(2)),
  });
  const rows = [row('schemas on first use (now)', lazy), row('schemas eager (baseline)', eager)];
  if (process.argv.includes('--json')) {
    console.log(
      JSON.stringify({ instances, rows, ratio: { kib: eager.kib / lazy.kib, ms: eager.ms / lazy.ms } }),
    );
    return;
  }
  console.log(`per workflow instance, mean of ${instances} (Node ${process.version}):`);
  for (const r of rows)
    console.log(
      `  ${r.name.padEnd(28)} ${String(r.modules).padStart(3)} modules  ${String(r.kib).padStart(5)} KiB  ${r.ms.toFixed(2).padStart(6)} ms`,
    );
  console.log(
    `  baseline / now: ${(eager.kib / lazy.kib).toFixed(1)}x the memory, ${(eager.ms / lazy.ms).toFixed(1)}x the CPU`,
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
