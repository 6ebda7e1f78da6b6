// The one place the CLI picks how to read a cloud's runtime: from the record.
import type { CloudRecord } from '../../record/schema';
import { dockerView, type AgentReader } from './dockerView';
import { kubernetesView } from './kubernetesView';
import type { RuntimeView } from './runtimeView';

export type { RuntimeView } from './runtimeView';

/** `readAgents`: how to read hosts reached through agents (PatchbayClient.observeAgentHosts). */
export function runtimeView(record: CloudRecord, readAgents?: AgentReader): RuntimeView {
  const { name } = record.metadata;
  const { kubernetes, docker } = record.spec.runtime;
  return kubernetes ? kubernetesView(name, kubernetes) : dockerView(name, docker.hosts, readAgents);
}
