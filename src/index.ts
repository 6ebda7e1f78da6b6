// `patchbay` as a library (package.json "exports"): the clients the CLI is built on, for a team's own
// automation. Records, campaign specs and the workflows' messages have subpaths of their own
// (`patchbay/record`, `patchbay/campaign`, `patchbay/messages`); the most used names are here too.
// Run from this repository's sources with tsx (tsconfig "paths"), or build it: `npm run build` -> dist/.
export { PatchbayClient, type ChangeWatch, type HistoryPage } from './client/patchbayClient';
export { CampaignClient, type CampaignSummary } from './client/campaignClient';
export { DEFAULT_TASK_QUEUE, temporalConfig, type TemporalConfig } from './lib/config';
export { PatchbayError, type ErrorCode } from './lib/errors';
export { exitCodeOf } from './lib/failures';
export { storeUrl } from './store/config';
export { openDb, type Db } from './store/db';
export {
  InventoryStore,
  type InventoryCloud,
  type InventoryFilter,
  type InventoryService,
  type ServiceInventory,
} from './store/inventoryStore';
export { CampaignSpecSchema, type CampaignSpec, type CampaignSpecInput } from './campaign/spec';
export type { CampaignProgress, CampaignResult, CloudOutcome, CloudStatus } from './workflows/campaignTypes';
export { CloudRecordSchema, type CloudRecord, type CloudRecordInput } from './record/schema';
export { imageVersion } from './record/identity';
export type { ChangeAccepted } from './workflows/messages';
export type { ChangeResult } from './workflows/types';
