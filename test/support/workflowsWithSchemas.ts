// The workflows as they were instantiated before zod and the schemas moved behind
// src/workflows/schemas.ts: the same modules, with the schemas imported eagerly. The baseline of
// bench/workflowWeight.ts and test/workflows/schemas.test.ts; never run as workflows.
import '../../src/campaign/spec';
import '../../src/record/schema';
import '../../src/record/validate';
import '../../src/workflows/campaignPayloads';
import '../../src/workflows/messagePayloads';

export * from '../../src/workflows';
