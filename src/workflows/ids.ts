// Workflow ids that read well in the Temporal Web UI and can be derived by any client.
export const cloudWorkflowId = (cloud: string): string => `cloud:${cloud}`;
export const changeWorkflowId = (cloud: string, revision: number): string => `cloud:${cloud}:r${revision}`;
export const serviceWorkflowId = (cloud: string, revision: number, service: string): string =>
  `cloud:${cloud}:r${revision}:${service}`;
export const revertWorkflowId = (cloud: string, revision: number, service: string): string =>
  `cloud:${cloud}:r${revision}:${service}:revert`;
export const contractWorkflowId = (cloud: string, revision: number, service: string): string =>
  `cloud:${cloud}:r${revision}:${service}:contract`;
