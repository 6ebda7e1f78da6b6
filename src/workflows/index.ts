// The workflows the worker registers.
export { cloudWorkflow } from './cloud';
export { changeWorkflow } from './change';
export { serviceRolloutWorkflow } from './serviceRollout';
export { serviceRevertWorkflow } from './serviceRevert';
export { campaignWorkflow } from './campaign';
export { campaignCloudWorkflow } from './campaignCloud';
export { observeHostsWorkflow } from './runtimes/observeHosts';
