// Workflow ids of a campaign and of its per-cloud children (stable: people search for them).
export const campaignWorkflowId = (name: string): string => `campaign:${name}`;
export const campaignCloudWorkflowId = (name: string, cloud: string, revert = false): string =>
  `campaign:${name}:${cloud}${revert ? ':revert' : ''}`;
