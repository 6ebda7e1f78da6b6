// `patchbay/campaign`: the campaign spec's schema (zod), its types, how waves are planned, and the
// shapes a campaign's progress and result come in.
export {
  CampaignSpecSchema,
  RunningSelector,
  UnreachablePolicy,
  Wave,
  WaveSize,
  type CampaignSpec,
  type CampaignSpecInput,
} from '../campaign/spec';
export { planWaves, type PlannedWave } from '../campaign/waves';
export { loadCampaignFile, parseCampaignText } from '../client/campaignClient';
export {
  QUIET_STATUSES,
  type CampaignPhase,
  type CampaignProgress,
  type CampaignResult,
  type CloudOutcome,
  type CloudStatus,
  type StatusCounts,
  type WaveProgress,
} from '../workflows/campaignTypes';
export { campaignCloudWorkflowId, campaignWorkflowId } from '../workflows/campaignIds';
