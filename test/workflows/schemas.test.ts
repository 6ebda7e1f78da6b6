// Zod and the schemas are loaded on first use and shared by every workflow of a worker
// (src/workflows/schemas.ts): a workflow that parses nothing instantiates none of them, and one that
// parses reuses what the first one loaded. Checked on the bundle the worker runs.
import { UnreachablePolicy } from '../../src/campaign/spec';
import { UNREACHABLE_DEFAULT } from '../../src/workflows/campaignCloud';
import { measureWorkflowWeight, WORKFLOWS, WORKFLOWS_WITH_SCHEMAS } from '../support/workflowWeight';

jest.setTimeout(180_000);

const SCHEMA_MODULES = [
  /node_modules\/zod\//,
  /src\/record\/schema\.ts$/,
  /src\/record\/validate\.ts$/,
  /src\/campaign\/spec\.ts$/,
  /src\/workflows\/(message|campaign)Payloads\.ts$/,
];
const schemaModules = (ids: string[]) => ids.filter((id) => SCHEMA_MODULES.some((re) => re.test(id)));

test('a workflow instantiates no zod and no schema; one that parses shares what the first loaded', async () => {
  const idle = await measureWorkflowWeight(WORKFLOWS, { instances: 2 });
  const parsing = await measureWorkflowWeight(WORKFLOWS, { parse: true, instances: 2 });
  const notShared = await measureWorkflowWeight(WORKFLOWS, { parse: true, preload: false, instances: 2 });
  const eager = await measureWorkflowWeight(WORKFLOWS_WITH_SCHEMAS, { instances: 2 });
  // The workflow modules themselves are instantiated per workflow (the measure sees them) ...
  expect(idle.modules).toEqual(
    expect.arrayContaining(['./src/workflows/cloud.ts', './src/workflows/serviceRollout.ts']),
  );
  // ... and none of zod's or the schemas' (a module importing zod on a workflow's behalf shows here),
  expect(schemaModules(idle.modules)).toEqual([]);
  // not even in a workflow that parses, once another has loaded them,
  expect(schemaModules(parsing.modules)).toEqual([]);
  // which is the preload's doing: without it each workflow loads its own.
  expect(schemaModules(notShared.modules).length).toBeGreaterThan(5);
  expect(schemaModules(eager.modules).length).toBeGreaterThan(5);
  // (What that saves, in KiB and ms per workflow, is measured by npm run bench:workflow-weight: heap
  // figures taken inside a test runner are too noisy to assert on.)
});

test("campaignCloud's default for unreachable hosts is UnreachablePolicy's", () => {
  expect(UNREACHABLE_DEFAULT).toEqual(UnreachablePolicy.parse({}));
});
