// `patchbay/messages`: every update, signal and query of the cloud and campaign workflows, with their
// stable names and zod payloads (README "Messages (for other systems)"), for clients that talk to the
// workflows with the Temporal SDK directly.
export { ApplyPayload, ResolvePayload, RollbackPayload } from '../workflows/messagePayloads';
export {
  applyUpdate,
  changeProgressQuery,
  cloudStateQuery,
  resolveUpdate,
  revisionQuery,
  rollbackUpdate,
  serviceProgressQuery,
  type ChangeAccepted,
} from '../workflows/messages';
export {
  AbortPayload,
  ApprovePayload,
  PausePayload,
  ProgressOptions,
  ResumePayload,
} from '../workflows/campaignPayloads';
export {
  abortCampaignUpdate,
  approveCampaignUpdate,
  campaignProgressQuery,
  pauseCampaignUpdate,
  resumeCampaignUpdate,
  type ControlAck,
} from '../workflows/campaignMessages';
export { cloudWorkflowId } from '../workflows/ids';
export { campaignCloudWorkflowId, campaignWorkflowId } from '../workflows/campaignIds';
export {
  CAMPAIGN_ID,
  CLOUD,
  SEARCH_ATTRIBUTES,
  SERVICE,
  TARGET_VERSION,
} from '../workflows/searchAttributes';
export type { ChangeProgress, ChangeResult, CloudSummary, ServiceProgress } from '../workflows/types';
