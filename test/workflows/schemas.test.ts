// Zod and the schemas are loaded by a workflow on first use (src/workflows/schemas.ts): a workflow
// that parses nothing instantiates none of them. Checked on the bundle the worker runs.
import { UnreachablePolicy } from '../../src/campaign/spec';
import { UNREACHABLE_DEFAULT } from '../../src/workflows/campaignCloud';
import { measureWorkflowWeight, WORKFLOWS, WORKFLOWS_WITH_SCHEMAS } from '../support/workflowWeight';

jest.setTimeout(120_000);

const EAGER_ONLY = [
  /node_modules\/zod\//,
  /src\/record\/schema\.ts$/,
  /src\/record\/validate\.ts$/,
  /src\/campaign\/spec\.ts$/,
  /src\/workflows\/(message|campaign)Payloads\.ts$/,
];

test('a workflow instantiates no zod and no schema until it parses something', async () => {
  const lazy = await measureWorkflowWeight(WORKFLOWS, 20);
  const eager = await measureWorkflowWeight(WORKFLOWS_WITH_SCHEMAS, 20);
  // The workflow modules themselves are instantiated (the measure sees them) ...
  expect(lazy.modules).toEqual(
    expect.arrayContaining(['./src/workflows/cloud.ts', './src/workflows/serviceRollout.ts']),
  );
  // ... and none of zod's or the schemas' (a module importing zod on a workflow's behalf shows here).
  expect(lazy.modules.filter((id) => EAGER_ONLY.some((re) => re.test(id)))).toEqual([]);
  expect(eager.modules.filter((id) => /node_modules\/zod\//.test(id)).length).toBeGreaterThan(5);
  // Measured 80 vs 1,290 KiB per workflow: a quarter is a wide margin either way.
  expect(lazy.kib).toBeLessThan(eager.kib / 4);
});

test("campaignCloud's default for unreachable hosts is UnreachablePolicy's", () => {
  expect(UNREACHABLE_DEFAULT).toEqual(UnreachablePolicy.parse({}));
});
