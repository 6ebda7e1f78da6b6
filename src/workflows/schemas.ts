// Zod and the schemas built with it, loaded on first use and then shared by every workflow in the
// worker. The SDK instantiates the workflow modules afresh for each workflow it holds in its cache:
// with zod, the record schema and the message payloads at module scope that cost ~1.2 MiB and ~10 ms
// per workflow (test/support/workflowWeight.ts, npm run bench:workflow-weight), and at 500 cached
// workflows most of the worker's memory.
//
// Workflow files import these modules' types only (eslint: no-restricted-imports) and their values
// from here; `require` keeps the load synchronous, so a handler or validator calls these exactly where
// it used the import before. The worker preloads this module (src/worker/workflowBundle.ts): its
// module scope, and so the loaded schemas below, is then one for all workflows instead of one per
// workflow. That is safe because what is shared is pure: a schema parses the same input to the same
// output in any workflow, and what zod caches on a schema (bound methods, derived lookups) is derived
// from the schema alone. Preloaded modules are frozen by the SDK; the schemas are not (they are built
// after that, at first use), which zod needs: it installs its methods on first read. Without the
// preload (a bundle made without it) this still works, per workflow.
import type * as CampaignSpecModule from '../campaign/spec';
import type * as RecordSchemaModule from '../record/schema';
import type * as ValidateModule from '../record/validate';
import type * as CampaignPayloadsModule from './campaignPayloads';
import type * as MessagePayloadsModule from './messagePayloads';

/* eslint-disable @typescript-eslint/no-require-imports -- loaded on first use, see above */
let record: typeof RecordSchemaModule | undefined;
let validation: typeof ValidateModule | undefined;
let campaign: typeof CampaignSpecModule | undefined;
let messages: typeof MessagePayloadsModule | undefined;
let campaignMessages: typeof CampaignPayloadsModule | undefined;

/** The deployment record's schema (CloudRecordSchema, Service, …). */
export function recordSchema(): typeof RecordSchemaModule {
  return (record ??= require('../record/schema') as typeof RecordSchemaModule);
}

/** validateRecord: shape and meaning of a deployment record. */
export function recordValidation(): typeof ValidateModule {
  return (validation ??= require('../record/validate') as typeof ValidateModule);
}

/** The campaign spec's schema. */
export function campaignSpec(): typeof CampaignSpecModule {
  return (campaign ??= require('../campaign/spec') as typeof CampaignSpecModule);
}

/** The cloud and service workflows' message payloads. */
export function messagePayloads(): typeof MessagePayloadsModule {
  return (messages ??= require('./messagePayloads') as typeof MessagePayloadsModule);
}

/** The campaign's message payloads. */
export function campaignPayloads(): typeof CampaignPayloadsModule {
  return (campaignMessages ??= require('./campaignPayloads') as typeof CampaignPayloadsModule);
}
