// Zod and the schemas built with it, loaded by a workflow on first use. The SDK instantiates the
// workflow modules afresh for every workflow it holds in its cache: with zod, the record schema and the
// message payloads at module scope that cost ~1.1 MiB and ~8 ms per workflow (bundle measured in
// test/workflows/bundleWeight.test.ts), most of it in workflows that never parse anything (a service
// rollout, a campaign's per-cloud child, an idle cloud). Workflow files import these modules' types
// only (eslint: no-restricted-imports); their values come from here. `require` keeps the load
// synchronous, so a handler or validator calls these exactly where it used the import before.
import type * as CampaignSpecModule from '../campaign/spec';
import type * as RecordSchemaModule from '../record/schema';
import type * as ValidateModule from '../record/validate';
import type * as CampaignPayloadsModule from './campaignPayloads';
import type * as MessagePayloadsModule from './messagePayloads';

/* eslint-disable @typescript-eslint/no-require-imports -- loaded on first use, see above */

/** The deployment record's schema (CloudRecordSchema, Service, …). */
export function recordSchema(): typeof RecordSchemaModule {
  return require('../record/schema') as typeof RecordSchemaModule;
}

/** validateRecord: shape and meaning of a deployment record. */
export function recordValidation(): typeof ValidateModule {
  return require('../record/validate') as typeof ValidateModule;
}

/** The campaign spec's schema. */
export function campaignSpec(): typeof CampaignSpecModule {
  return require('../campaign/spec') as typeof CampaignSpecModule;
}

/** The cloud and service workflows' message payloads. */
export function messagePayloads(): typeof MessagePayloadsModule {
  return require('./messagePayloads') as typeof MessagePayloadsModule;
}

/** The campaign's message payloads. */
export function campaignPayloads(): typeof CampaignPayloadsModule {
  return require('./campaignPayloads') as typeof CampaignPayloadsModule;
}
